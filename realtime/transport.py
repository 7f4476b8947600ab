"""The WebSocket under Socket.IO, bounded per connection (issue 19, item 16).

engine.io serves a WebSocket with simple-websocket, whose reader takes in every frame the
client sends, as fast as it comes, into a list that nothing bounds; engine.io then handles
them one by one, and goes on handling the ones already read after the connection is closed.
A client that sends without pause (a stuck script, bench/chat_load.py --flood) therefore
left hundreds of thousands of frames behind it, and everybody's chat waited while the server
read and parsed them: for seconds after the flood had stopped.

Here each connection's reader stops reading once ``FRAMES`` frames wait to be handled, so the
rest stays in the kernel and TCP slows the sender down (a flood costs its own connection, not
the process); a frame larger than engine.io's buffer closes the connection as it arrives; and
when the server closes a connection, the frames it had read and not handled are dropped at
once. Under gevent the reader also lets the other connections run after each read (it would
otherwise keep the loop while a sender's frames keep coming).
"""

from __future__ import annotations

import simple_websocket
from simple_websocket import ConnectionClosed

#: frames one connection may have read and not yet handled; the page sends a few at a time
FRAMES = 64


class BoundedServer(simple_websocket.Server):
    """A simple-websocket server connection with a bounded input and a close that drops it."""

    #: called after each read (gevent.sleep under gevent), or None
    pause = None

    def __init__(self, environ, *args, event_class=None, **kwargs):
        if event_class is None:
            import threading

            event_class = threading.Event
        # set before the reader starts (the base class starts it in its constructor)
        self.room = event_class()  # set whenever the input has room again
        self.dropped = False
        super().__init__(environ, *args, event_class=event_class, **kwargs)

    def _handle_events(self):
        keep_going = super()._handle_events()
        if self.pause is not None:
            self.pause()
        # full: read no more until the handler has taken some (TCP holds the rest back)
        while keep_going and self.connected and len(self.input_buffer) >= FRAMES:
            self.room.clear()
            if len(self.input_buffer) < FRAMES or not self.connected:
                break
            self.room.wait(timeout=1)
        return keep_going and not self.dropped

    def receive(self, timeout=None):
        if self.dropped:
            raise ConnectionClosed(self.close_reason, self.close_message)
        data = super().receive(timeout)
        if len(self.input_buffer) < FRAMES and not self.room.is_set():
            self.room.set()
        return data

    def close(self, reason=None, message=None):
        # what the connection sent and was not handled is not handled after it is closed
        self.dropped = True
        self.input_buffer.clear()
        self.room.set()
        self.event.set()
        super().close(reason, message)


def bounded(base: type, max_message_size: int, pause=None) -> type:
    """engine.io's WebSocket wrapper class ``base`` (its ``_websocket_wsgi`` one, for threads
    or gevent), opening a ``BoundedServer`` instead."""

    server_class = type("KoeServer", (BoundedServer,), {"pause": staticmethod(pause)})

    class KoeWebSocket(base):
        def __init__(self, handler, server, **kwargs):
            super().__init__(handler, server, **kwargs)
            # engine.io refuses a larger packet after reading all of it: refuse it as it comes
            self.server_args.setdefault("max_message_size", max_message_size)

        def __call__(self, environ, start_response):  # as the base class, with our server
            self.ws = server_class(environ, **self.server_args)
            ret = self.app(self)
            if self.ws.mode == "gunicorn":
                raise StopIteration()
            if self.ws.mode == "werkzeug":
                raise ConnectionError()
            return ret

        def close(self):
            if self.ws.connected:
                self.ws.close()
            else:  # closed by the peer: still drop what was not handled
                self.ws.dropped = True
                self.ws.input_buffer.clear()

    return KoeWebSocket
