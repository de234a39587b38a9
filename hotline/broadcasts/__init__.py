"""Community alerts: people subscribe by text to an area (`subscriptions`), and a verified
incident is broadcast to the confirmed subscribers of its area, each in their language, once
(`drafts` composes and approves, `sending` sends at the broadcast rate, `progress` counts)."""
