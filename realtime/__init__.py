"""Live parts of Koe (issue 7): the Socket.IO namespace ``/live`` of an event (chat, presence,
the moderators' measures; ``realtime.live``), and later ``media/``, the aiortc service.

One ``SocketIO`` per application (``app.extensions["socketio"]``). With ``KOE_REDIS_URL`` set,
every emit goes through Redis, so the clients of several web processes share the rooms; a
handler (or an HTTP view) emits after it commits. Only the page's own origin may connect (the
engine.io default), and a connection must show the session's CSRF token.
"""

from __future__ import annotations

from flask import Flask, current_app
from flask_socketio import SocketIO


def init_app(app: Flask) -> SocketIO:
    from realtime import live
    from realtime.pace import Pace
    from realtime.presence import Presence

    sio = SocketIO(
        app,
        async_mode=app.config["SOCKETIO_ASYNC_MODE"],
        message_queue=app.config["REDIS_URL"],
        channel=app.config["SOCKETIO_CHANNEL"],
        # a message is at most 500 characters: anything much larger is refused unread
        max_http_buffer_size=64 * 1024,
        ping_interval=20,
        # a connection's events one after another, in its own thread (or greenlet): a client
        # that floods waits for itself instead of starting a thread per event that every
        # other client then waits behind (bench/chat_load.py --flood)
        async_handlers=False,
        logger=False,
        engineio_logger=False,
    )
    if app.config["SOCKETIO_ASYNC_MODE"] == "gevent":
        _yield_between_frames()
    sio.on_namespace(live.Live("/live"))
    app.extensions["koe_pace"] = Pace(app.config["SOCKET_EVENT_RATES"])
    app.extensions["koe_presence"] = Presence(
        app.config["REDIS_URL"], spawn=sio.start_background_task, sleep=sio.sleep
    )
    return sio


def socketio() -> SocketIO:
    return current_app.extensions["socketio"]


def _yield_between_frames() -> None:
    """Under gevent, let the other connections run after each read of a WebSocket.

    simple-websocket reads a connection in a greenlet that yields only when the socket has
    nothing to read: a client that sends without pause (bench/chat_load.py --flood) kept the
    whole process to itself, and everyone else's chat waited seconds. Once per process."""
    import gevent
    from simple_websocket import ws

    read = ws.Base._handle_events
    if getattr(read, "koe_yields", False):
        return

    def handle_events(self):
        keep_going = read(self)
        gevent.sleep(0)
        return keep_going

    handle_events.koe_yields = True
    ws.Base._handle_events = handle_events
