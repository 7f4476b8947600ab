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
    _bound_websockets(sio, app.config["SOCKETIO_ASYNC_MODE"])
    sio.on_namespace(live.Live("/live"))
    app.extensions["koe_pace"] = Pace(app.config["SOCKET_EVENT_RATES"])
    app.extensions["koe_presence"] = Presence(
        app.config["REDIS_URL"], spawn=sio.start_background_task, sleep=sio.sleep
    )
    return sio


def socketio() -> SocketIO:
    return current_app.extensions["socketio"]


def _bound_websockets(sio: SocketIO, async_mode: str) -> None:
    """Serve this server's WebSockets bounded per connection (``realtime.transport``): a
    flooding client is held back by TCP, and its unread frames go when it is closed."""
    from engineio.async_drivers._websocket_wsgi import SimpleWebSocketWSGI

    from realtime import transport

    eio = sio.server.eio
    websocket = eio._async.get("websocket")
    if not (isinstance(websocket, type) and issubclass(websocket, SimpleWebSocketWSGI)):
        return  # another WebSocket server (gevent-websocket's worker): its own reader
    pause = None
    if async_mode == "gevent":
        import gevent

        def pause() -> None:
            gevent.sleep(0)

    # this server's copy of the driver's table: other servers in the process keep theirs
    eio._async = {
        **eio._async,
        "websocket": transport.bounded(websocket, eio.max_http_buffer_size, pause),
    }
