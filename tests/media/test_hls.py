"""The HLS encoder on its own: a 1080p source becomes 720p H.264 and AAC segments."""

from __future__ import annotations

import asyncio
from fractions import Fraction

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from realtime.media.hls import HlsEncoder
from tests.media.support import run, segments

SPEEDUP = 2  # the source runs at twice real time: the test takes half as long


class Source(MediaStreamTrack):
    """A finite source with RTP-like timestamps, paced at SPEEDUP× real time."""

    def __init__(self, kind: str, seconds: float) -> None:
        super().__init__()
        self.kind = kind
        self.index = 0
        if kind == "video":
            self.step, self.rate = 3000, 90_000  # 30 frames a second
        else:
            self.step, self.rate = 960, 48_000  # 20 ms of audio
        self.count = int(seconds * self.rate / self.step)

    async def recv(self):
        if self.index >= self.count:
            self.stop()
            raise MediaStreamError
        await asyncio.sleep(self.step / self.rate / SPEEDUP)
        if self.kind == "video":
            image = np.full((1080, 1920, 3), (self.index * 5) % 256, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        else:
            t = (np.arange(self.step) + self.index * self.step) / self.rate
            tone = (np.sin(2 * np.pi * 440 * t) * 8000).astype(np.int16)
            frame = av.AudioFrame.from_ndarray(
                np.repeat(tone, 2).reshape(1, -1), format="s16", layout="stereo"
            )
            frame.sample_rate = self.rate
        frame.pts, frame.time_base = self.index * self.step, Fraction(1, self.rate)
        self.index += 1
        return frame


def test_encoder_writes_720p_h264_and_aac(tmp_path):
    run(_encode(tmp_path))


async def _encode(tmp_path):
    video, audio = Source("video", 4.5), Source("audio", 4.5)
    encoder = HlsEncoder(tmp_path / "hls" / "1", video, audio)
    encoder.start()
    while video.readyState == "live":
        await asyncio.sleep(0.05)
    await encoder.stop()
    assert not encoder.failed

    playlist = (tmp_path / "hls" / "1" / "index.m3u8").read_text()
    assert "#EXT-X-PLAYLIST-TYPE:EVENT" in playlist
    assert playlist.rstrip().endswith("#EXT-X-ENDLIST")
    assert "#EXT-X-DISCONTINUITY" not in playlist  # a first recording starts clean
    names = segments(playlist)
    assert len(names) >= 2
    assert "#EXTINF:2.0" in playlist  # 2 s segments (a keyframe every 2 s)

    with av.open(str(tmp_path / "hls" / "1" / names[0])) as container:
        video_stream = container.streams.video[0]
        audio_stream = container.streams.audio[0]
        assert video_stream.codec_context.name == "h264"
        assert audio_stream.codec_context.name == "aac"
        frames = list(container.decode(video=0))
    assert {(f.width, f.height) for f in frames} == {(1280, 720)}
    assert frames[0].key_frame
