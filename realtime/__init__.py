"""Live parts of Koe (issue 7): Socket.IO namespaces for event chat, the moderated Q&A queue
and presence, and ``media/``, the aiortc service for WHIP ingest, WebRTC viewers, HLS and
recording. Nothing lives here yet."""
