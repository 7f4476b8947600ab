"""The recording as one MP4 file to download (for a slow line, for the ward's own records):
the HLS segments put end to end without encoding again (H.264 and AAC copied; FFmpeg turns the
AAC's ADTS headers into MP4's own), the parts of a stream that went live more than once one
after the other, ``faststart`` so that a player starts before the whole file is there.
Written beside the playlist once the stream has ended; replaced when it goes live again. The
media service runs it as a process of its own (``python -m realtime.media.recording DIR``):
whatever a file holds, FFmpeg failing there never takes a live stream down with it.
"""

from __future__ import annotations

import logging
import os
import sys
from fractions import Fraction
from pathlib import Path

import av

log = logging.getLogger(__name__)

MP4 = "recording.mp4"
GAP = 0.04  # seconds between two parts of a recording (a frame at 25 fps)


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
    parts = playlist_parts(playlist)
    if not parts:
        return None
    target = directory / MP4
    partial = directory / f".{MP4}.part"
    parts = [[name for name in part if (directory / name).is_file()] for part in parts]
    parts = [part for part in parts if part]
    if not parts:
        return None
    wrote = False
    with av.open(str(partial), "w", format="mp4", options={"movflags": "+faststart"}) as out:
        # every stream before the first packet (a muxer cannot take one later): a part may
        # have only pictures, the next pictures and sound
        outputs: dict[str, av.stream.Stream] = {}
        for part in parts:
            with av.open(str(directory / part[0])) as first:
                for stream in first.streams:
                    if stream.type in ("video", "audio") and stream.type not in outputs:
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
                        packet.stream = outputs[packet.stream.type]
                        out.mux(packet)
                        wrote = True
    if not wrote:
        partial.unlink(missing_ok=True)
        return None
    os.replace(partial, target)
    return target


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
