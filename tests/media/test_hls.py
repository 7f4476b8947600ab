"""The HLS encoder on its own: a 1080p source becomes 720p H.264 and AAC segments."""

from __future__ import annotations

import asyncio
import itertools
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


def _joined(tmp_path, *parts):
    """One playlist of the parts' segments after one another (as a stream that went live
    once per part leaves it), with a line outside the directory that must never be read."""
    import shutil

    joined = tmp_path / "joined"
    joined.mkdir()
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:2"]
    n = 0
    for part in parts:
        if n:
            lines.append("#EXT-X-DISCONTINUITY")
        for segment in sorted((tmp_path / part).glob("seg*.ts")):
            name = f"seg{n:05d}.ts"
            shutil.copy(segment, joined / name)
            lines += ["#EXTINF:2.0,", name]
            n += 1
    lines += ["#EXTINF:2.0,", "../a/seg00000.ts", "#EXT-X-ENDLIST"]  # outside: never read
    (joined / "index.m3u8").write_text("\n".join(lines) + "\n")
    return joined


def test_the_recording_as_one_mp4_with_its_parts_in_order(tmp_path):
    """Two parts (the event went live twice): one MP4, H.264 and AAC copied, the second part
    after the first, every picture's time later than the one before."""
    from realtime.media.demo import write_test_recording
    from realtime.media.recording import write_mp4

    write_test_recording(tmp_path / "a", seconds=4)
    write_test_recording(tmp_path / "b", seconds=6)
    joined = _joined(tmp_path, "a", "b")
    mp4 = write_mp4(joined)
    assert mp4 == joined / "recording.mp4"
    assert not list(joined.glob(".*.part"))  # written aside, then put in place
    with av.open(str(mp4)) as container:
        assert [s.codec_context.name for s in container.streams] == ["h264", "aac"]
        assert 9.9 < container.duration / av.time_base < 10.5
        times = [frame.time for frame in container.decode(video=0)]
    assert len(times) == 10 * 15  # every picture of both parts (15 fps)
    assert all(later > earlier for earlier, later in itertools.pairwise(times))
    with av.open(str(mp4)) as container:
        sound = sum(frame.samples for frame in container.decode(audio=0))
    assert 9.5 * 48_000 < sound < 10.5 * 48_000  # the audio decodes, both parts
    # nothing to write: no playlist, or no segments
    assert write_mp4(tmp_path / "nowhere") is None
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "index.m3u8").write_text("#EXTM3U\n#EXT-X-ENDLIST\n")
    assert write_mp4(tmp_path / "empty") is None


def test_parts_of_different_sizes_are_fitted_into_the_first(tmp_path):
    """A landscape part, then an upright one (a phone turned), then the landscape again: an
    MP4 describes its pictures once, so they are encoded again at the first part's size, the
    upright part between black bars; every picture decodes, in order; the sound is copied."""
    from realtime.media.demo import write_test_recording
    from realtime.media.recording import write_mp4

    write_test_recording(tmp_path / "a", seconds=2, size=(640, 360))
    write_test_recording(tmp_path / "b", seconds=4, size=(360, 640))
    write_test_recording(tmp_path / "c", seconds=2, size=(640, 360))
    mp4 = write_mp4(_joined(tmp_path, "a", "b", "c"))
    with av.open(str(mp4)) as container:
        assert [s.codec_context.name for s in container.streams] == ["h264", "aac"]
        assert 7.9 < container.duration / av.time_base < 8.5
        frames = [
            (frame.time, frame.width, frame.height, frame.to_ndarray(format="gray"))
            for frame in container.decode(video=0)
        ]
    assert len(frames) == 8 * 15  # every picture of the three parts
    assert {(width, height) for _, width, height, _ in frames} == {(640, 360)}
    times = [time for time, *_ in frames]
    assert all(later > earlier for earlier, later in itertools.pairwise(times))
    # the upright part (seconds 2 to 6): black bars left and right, the picture between
    upright = frames[3 * 15][3]
    assert upright[:, :150].max() < 30 and upright[:, -150:].max() < 30
    assert upright[:, 230:410].mean() > 60
    landscape = frames[15][3]  # the first part fills the whole width
    assert landscape[:, :150].mean() > 60
    with av.open(str(mp4)) as container:
        sound = sum(frame.samples for frame in container.decode(audio=0))
    assert 7.5 * 48_000 < sound < 8.5 * 48_000


def test_the_mp4_is_written_by_a_command_of_its_own(tmp_path, capsys):
    from realtime.media.demo import write_test_recording
    from realtime.media.recording import main

    assert main([]) == 2
    assert main([str(tmp_path / "nowhere")]) == 1
    write_test_recording(tmp_path / "one", seconds=2)
    assert main([str(tmp_path / "one")]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "one" / "recording.mp4")
