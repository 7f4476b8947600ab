"""A short recording for the demo's past event: a moving test card and a tone, encoded as the
media service records a stream (H.264 and AAC in HLS segments, a playlist with
``#EXT-X-ENDLIST``), so the archive page plays a real recording on a fresh machine.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

PLAYLIST = "index.m3u8"


def write_test_recording(
    directory: Path, seconds: int = 20, size: tuple[int, int] = (640, 360), fps: int = 15
) -> Path:
    """Write ``directory/index.m3u8`` and its segments; return the playlist's path."""
    directory.mkdir(parents=True, exist_ok=True)
    playlist = directory / PLAYLIST
    width, height = size
    options = {
        "hls_time": "2",
        "hls_playlist_type": "vod",
        "hls_segment_filename": str(directory / "seg%05d.ts"),
    }
    with av.open(str(playlist), mode="w", format="hls", options=options) as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"preset": "veryfast", "g": str(fps * 2), "keyint_min": str(fps * 2)}
        audio = container.add_stream("aac", rate=48_000)
        audio.layout = "mono"
        columns = np.arange(width, dtype=np.int32)
        rows = np.arange(height, dtype=np.int32)[:, None]
        samples_per_frame = 1024
        sample = 0
        for n in range(seconds * fps):
            # colour bars that slide, and a bright square that crosses the picture
            shift = n * 4
            picture = np.empty((height, width, 3), dtype=np.uint8)
            picture[..., 0] = ((columns + shift) * 255 // width) % 256
            picture[..., 1] = (rows * 255 // height) % 256
            picture[..., 2] = 128
            x = (n * 8) % (width - 60)
            picture[height // 2 - 30 : height // 2 + 30, x : x + 60] = 255
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts, frame.time_base = n, Fraction(1, fps)
            container.mux(video.encode(frame))
            # a quiet 440 Hz tone, kept in step with the pictures
            while sample < (n + 1) * 48_000 // fps:
                t = (np.arange(samples_per_frame) + sample) / 48_000
                tone = (0.1 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None, :]
                sound = av.AudioFrame.from_ndarray(tone, format="fltp", layout="mono")
                sound.sample_rate, sound.pts = 48_000, sample
                sound.time_base = Fraction(1, 48_000)
                container.mux(audio.encode(sound))
                sample += samples_per_frame
        container.mux(video.encode(None))
        container.mux(audio.encode(None))
    return playlist
