"""TwiML as Twilio documents it: the verbs and nouns Hotline uses, their attributes and allowed
values, and where each may be nested. Every voice test checks the TwiML it gets against this.

Sources (Twilio's TwiML Voice reference): <Say>, <Play>, <Gather>, <Record>, <Dial>, <Number>
(at most ten in a <Dial>; statusCallbackEvent initiated|ringing|answered|completed), <Start>
with <Transcription>, <Redirect>, <Hangup> (no attributes), <Reject> (reason rejected|busy;
only as the first verb).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

URL = re.compile(r"^https?://\S+$")
METHOD = {"GET", "POST"}
BOOLEAN = {"true", "false"}

# element -> (allowed attributes, allowed children); text marks an element that holds text
SCHEMA: dict[str, tuple[set[str], set[str]]] = {
    "Response": (set(), {"Say", "Play", "Gather", "Record", "Dial", "Redirect", "Hangup",
                         "Reject", "Start", "Pause"}),
    "Say": ({"voice", "language", "loop"}, set()),
    "Play": ({"loop", "digits"}, set()),
    "Pause": ({"length"}, set()),
    "Gather": ({"action", "method", "timeout", "numDigits", "finishOnKey", "input", "language",
                "speechTimeout", "hints", "actionOnEmptyResult", "partialResultCallback",
                "partialResultCallbackMethod", "profanityFilter", "speechModel", "enhanced"},
               {"Say", "Play", "Pause"}),
    "Record": ({"action", "method", "timeout", "finishOnKey", "maxLength", "playBeep", "trim",
                "recordingStatusCallback", "recordingStatusCallbackMethod",
                "recordingStatusCallbackEvent", "transcribe", "transcribeCallback"}, set()),
    "Dial": ({"action", "method", "timeout", "hangupOnStar", "timeLimit", "callerId", "record",
              "trim", "recordingStatusCallback", "recordingStatusCallbackMethod",
              "recordingStatusCallbackEvent", "answerOnBridge", "ringTone", "recordingTrack",
              "sequential", "referUrl", "referMethod", "events"},
             {"Number", "Client", "Conference", "Queue", "Sip"}),
    "Number": ({"sendDigits", "url", "method", "statusCallbackEvent", "statusCallback",
                "statusCallbackMethod", "byoc", "machineDetection", "amdStatusCallback",
                "amdStatusCallbackMethod", "machineDetectionTimeout"}, set()),
    "Start": ({"action", "method"}, {"Stream", "Siprec", "Transcription"}),
    "Transcription": ({"name", "track", "statusCallbackUrl", "statusCallbackMethod",
                       "inboundTrackLabel", "outboundTrackLabel", "partialResults",
                       "languageCode", "transcriptionEngine", "profanityFilter", "speechModel",
                       "hints", "enableAutomaticPunctuation", "intelligenceService"}, set()),
    "Redirect": ({"method"}, set()),
    "Hangup": (set(), set()),
    "Reject": ({"reason"}, set()),
}
TEXT = {"Say", "Play", "Redirect", "Number"}
VALUES = {
    "method": METHOD, "statusCallbackMethod": METHOD, "answerOnBridge": BOOLEAN,
    "playBeep": BOOLEAN, "transcribe": BOOLEAN, "partialResults": BOOLEAN,
    "reason": {"rejected", "busy"}, "track": {"inbound_track", "outbound_track", "both_tracks"},
}
URLS = {"action", "url", "statusCallback", "statusCallbackUrl", "transcribeCallback"}


def assert_valid_twiml(xml: str) -> ET.Element:
    """Parse `xml` and check it against Twilio's documented verbs; the root element."""
    root = ET.fromstring(xml)
    assert root.tag == "Response", root.tag
    verbs = list(root)
    for i, verb in enumerate(verbs):
        if verb.tag == "Reject":
            assert i == 0, "<Reject> only works as the first verb"
    _check(root)
    return root


def _check(element: ET.Element) -> None:
    attributes, children = SCHEMA[element.tag]
    unknown = set(element.attrib) - attributes
    assert not unknown, f"<{element.tag}> has no attribute {sorted(unknown)}"
    for name, value in element.attrib.items():
        if name in VALUES:
            assert value in VALUES[name], f"<{element.tag} {name}={value!r}>"
        if name in URLS:
            assert URL.match(value), f"<{element.tag} {name}={value!r}> is no absolute URL"
    if element.tag == "Dial":
        numbers = [c for c in element if c.tag == "Number"]
        assert len(numbers) <= 10, "Twilio dials at most ten <Number>s at once"
        assert 5 <= int(element.get("timeout", "30")) <= 600
        if "callerId" in element.attrib:
            assert re.fullmatch(r"\+[1-9]\d{6,14}", element.get("callerId", ""))
    if element.tag == "Number":
        events = set((element.get("statusCallbackEvent") or "completed").split())
        assert events <= {"initiated", "ringing", "answered", "completed"}, events
        assert re.fullmatch(r"\+[1-9]\d{6,14}", (element.text or "").strip())
    if element.tag == "Gather" and "numDigits" in element.attrib:
        assert int(element.get("numDigits", "1")) >= 1
    if element.tag not in TEXT:
        assert not (element.text or "").strip(), f"<{element.tag}> holds no text"
    for child in element:
        assert child.tag in children, f"<{child.tag}> cannot be inside <{element.tag}>"
        _check(child)
