"""Development and test tools that ship with Hotline (a local stand-in of Twilio's API)."""
