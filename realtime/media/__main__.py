"""``python -m realtime.media [--host 127.0.0.1] [--port 5001]``: run the media service."""

from __future__ import annotations

import argparse
import logging

from .server import Config, run


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m realtime.media", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5001)
    args = parser.parse_args(argv)
    config = Config.from_env()  # before logging is set up: importing app.config is chatty
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("aioice").setLevel(logging.WARNING)  # one line per ICE check otherwise
    logging.getLogger(__name__).info(
        "media service on http://%s:%s (hls in %s, at most %d WebRTC viewers)",
        args.host,
        args.port,
        config.media_root,
        config.webrtc_max,
    )
    run(config, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
