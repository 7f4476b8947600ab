"""The recording as one MP4 file to download (for a slow line, for the ward's own records):
the HLS segments put end to end without encoding again (H.264 and AAC copied; FFmpeg turns the
AAC's ADTS headers into MP4's own), the parts of a stream that went live more than once one
after the other, ``faststart`` so that a player starts before the whole file is there.
An MP4 holds one description of its pictures: when the parts differ (the presenter turned
from a landscape camera to an upright phone, or to a screen of another size), the pictures
are encoded again instead, every part fitted into the first part's size with black bars,
the sound still copied. Written beside the playlist once the stream has ended; replaced when
it goes live again. The media service runs it as a process of its own (``python -m
realtime.media.recording DIR``): whatever a file holds, FFmpeg failing there never takes a
live stream down with it.
"""

from __future__ import annotations

import logging
import os
import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

log = logging.getLogger(__name__)

MP4 = "recording.mp4"
GAP = 0.04  # seconds between two parts of a recording (a frame at 25 fps)
VIDEO_RATE = 90_000  # the clock of pictures encoded again (Hz), as in the segments


def playlist_parts(playlist: Path) -> list[list[str]]:
    """The segment names of an HLS playlist, in order, split where it says DISCONTINUITY."""
    parts: list[list[str]] = [[]]
    for line in playlist.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line == "#EXT-X-DISCONTINUITY":
            parts.append([])
        elif line and not line.startswith("#") and "/" not in line and ".." not in line:
            parts[-1].append(line)
    return [part for part in parts if part]


def write_mp4(directory: Path, playlist_name: str = "index.m3u8") -> Path | None:
    """Write ``directory/recording.mp4`` from the playlist's segments; None when there is
    nothing to write. Written under another name first: a download never sees half a file."""
    playlist = directory / playlist_name
    if not playlist.is_file():
        return None
    parts = [
        [name for name in part if (directory / name).is_file()] for part in playlist_parts(playlist)
    ]
    parts = [part for part in parts if part]
    if not parts:
        return None
    target = directory / MP4
    partial = directory / f".{MP4}.part"
    # one description of the pictures for all parts, or the pictures are encoded again
    pictures = {_pictures(directory / part[0]) for part in parts} - {None}
    wrote = False
    with av.open(str(partial), "w", format="mp4", options={"movflags": "+faststart"}) as out:
        # every stream before the first packet (a muxer cannot take one later): a part may
        # have only pictures, the next pictures and sound
        outputs: dict[str, av.stream.Stream] = {}
        fitted: _Fitted | None = None
        for part in parts:
            with av.open(str(directory / part[0])) as first:
                for stream in first.streams:
                    if stream.type not in ("video", "audio") or stream.type in outputs:
                        continue
                    if stream.type == "video" and len(pictures) > 1:
                        fitted = _Fitted(out, stream)
                        outputs["video"] = fitted.stream
                    else:
                        outputs[stream.type] = out.add_stream_from_template(stream)
        end = 0.0  # where the recording so far ends (seconds)
        for names in parts:
            # this part starts where the recording so far ends: its times are shifted by the
            # difference (each part of a stream starts its clock anew)
            with av.open(str(directory / names[0])) as first:
                start = (first.start_time or 0) / av.time_base
            shift = (end + GAP if wrote else 0.0) - start
            offset_of: dict[Fraction, int] = {}
            for name in names:
                with av.open(str(directory / name)) as source:
                    inputs = [s for s in source.streams if s.type in outputs]
                    for packet in source.demux(inputs):
                        if packet.dts is None or packet.pts is None:
                            continue  # the demuxer's flush packet
                        base = packet.time_base
                        offset = offset_of.get(base)
                        if offset is None:
                            exact = Fraction(shift).limit_denominator(1_000_000)
                            offset = offset_of[base] = round(exact / base)
                        packet.pts += offset
                        packet.dts += offset
                        finish = float((packet.pts + (packet.duration or 0)) * base)
                        end = max(end, finish)
                        wrote = True
                        if fitted is not None and packet.stream.type == "video":
                            fitted.add(packet.decode(), base)
                            continue
                        packet.stream = outputs[packet.stream.type]
                        out.mux(packet)
                    if fitted is not None:  # the decoder's last pictures
                        for stream in source.streams.video:
                            fitted.add(stream.decode(None), stream.time_base)
        if fitted is not None:
            fitted.flush()
    if not wrote:
        partial.unlink(missing_ok=True)
        return None
    os.replace(partial, target)
    return target


def _pictures(segment: Path) -> tuple | None:
    """What an MP4 says once for all its pictures: codec, size and parameter sets."""
    with av.open(str(segment)) as container:
        for stream in container.streams.video:
            context = stream.codec_context
            return context.name, context.width, context.height, bytes(context.extradata or b"")
    return None


class _Fitted:
    """The pictures encoded again (H.264) at the first part's size: each part's pictures
    scaled to fit, aspect kept, centred on black."""

    def __init__(self, out, template) -> None:
        self.out = out
        self.width = template.codec_context.width
        self.height = template.codec_context.height
        rate = template.average_rate or 30
        self.stream = out.add_stream("libx264", rate=rate, options={"preset": "veryfast"})
        self.stream.width, self.stream.height = self.width, self.height
        self.stream.pix_fmt = "yuv420p"
        self.stream.time_base = self.stream.codec_context.time_base = Fraction(1, VIDEO_RATE)
        self.last = -1

    def add(self, frames, time_base: Fraction) -> None:
        """Encode decoded pictures whose times are in ``time_base`` (the segment's)."""
        for frame in frames:
            if frame.pts is None:
                continue
            pts = max(round(frame.pts * (frame.time_base or time_base) * VIDEO_RATE), self.last + 1)
            self.last = pts
            picture = fit(frame, self.width, self.height)
            picture.pts, picture.time_base = pts, Fraction(1, VIDEO_RATE)
            self.out.mux(self.stream.encode(picture))

    def flush(self) -> None:
        self.out.mux(self.stream.encode(None))


def fit(frame, width: int, height: int):
    """``frame`` as a width×height yuv420p picture: scaled to fit, aspect kept, on black."""
    if (frame.width, frame.height) == (width, height):
        return frame.reformat(format="yuv420p")
    scale = min(width / frame.width, height / frame.height)
    inner_width = max(2, int(frame.width * scale) // 2 * 2)
    inner_height = max(2, int(frame.height * scale) // 2 * 2)
    inner = frame.reformat(inner_width, inner_height, format="rgb24").to_ndarray()
    canvas = np.zeros((height, width, 3), dtype=np.uint8)
    top, left = (height - inner_height) // 2, (width - inner_width) // 2
    canvas[top : top + inner_height, left : left + inner_width] = inner
    return av.VideoFrame.from_ndarray(canvas, format="rgb24").reformat(format="yuv420p")


def main(argv: list[str]) -> int:
    """``python -m realtime.media.recording DIR``: print the MP4's path; 1 if none."""
    if len(argv) != 1:
        print("usage: python -m realtime.media.recording DIRECTORY", file=sys.stderr)
        return 2
    written = write_mp4(Path(argv[0]))
    if written is None:
        return 1
    print(written)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
