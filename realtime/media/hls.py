"""One encode of a live stream to HLS: H.264 (libx264) and AAC in MPEG-TS segments.

The event loop only moves frames: a reader task per track takes the presenter's frames from
the relay and drops them into a bounded queue (dropping frames when the encoder falls behind,
never building a backlog); a thread of its own encodes and writes the segments, so encoding
never blocks the loop. The playlist is of type EVENT; closing the muxer adds
``#EXT-X-ENDLIST``. When the same event goes live again, the new segments are appended to the
same playlist after an ``#EXT-X-DISCONTINUITY``: the recording keeps both parts.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from fractions import Fraction
from pathlib import Path

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av.video.frame import PictureType

log = logging.getLogger(__name__)

PLAYLIST = "index.m3u8"
SEGMENT_PATTERN = "seg%05d.ts"
SEGMENT_SECONDS = 2
MAX_WIDTH, MAX_HEIGHT = 1280, 720  # 720p, whichever way the picture is turned
VIDEO_RATE = 90_000  # the video clock (Hz), as in RTP and MPEG-TS
AUDIO_RATE = 48_000
AUDIO_GAP = AUDIO_RATE // 10  # a jump of more than 100 ms in the audio is a gap, not jitter
RESYNC_SECONDS = 2.0  # a track's own clock that strays this far from arrival is re-anchored
QUEUE_FRAMES = 90  # about 1.5 s of video and audio together


def output_size(width: int, height: int) -> tuple[int, int]:
    """The encoded size: at most 720p (1280×720, or 720×1280 upright), aspect kept, even."""
    long_side, short_side = max(width, height), min(width, height)
    scale = min(1.0, MAX_WIDTH / long_side, MAX_HEIGHT / short_side)

    def even(size: int) -> int:
        return max(2, int(size * scale + 1e-6) // 2 * 2)

    return even(width), even(height)


class Timeline:
    """Places one track's frames on the recording's clock (seconds since it began).

    A frame's own timestamp (RTP-derived, smooth) gives the spacing; its arrival time anchors
    it, so audio and video line up without RTCP. A timestamp that strays too far from the
    arrival time (a stall, a restarted sender) is re-anchored.
    """

    def __init__(self) -> None:
        self.offset: float | None = None

    def place(self, frame_time: float | None, arrival: float) -> float:
        if frame_time is None:
            return arrival
        if self.offset is None or abs(frame_time + self.offset - arrival) > RESYNC_SECONDS:
            self.offset = arrival - frame_time
        return frame_time + self.offset


def _frame_time(frame) -> float | None:
    if frame.pts is None or frame.time_base is None:
        return None
    return float(frame.pts * frame.time_base)


class HlsEncoder:
    """Encodes ``video`` (and ``audio``) to ``directory/index.m3u8`` until :meth:`stop`."""

    def __init__(
        self,
        directory: Path,
        video: MediaStreamTrack,
        audio: MediaStreamTrack | None = None,
        *,
        name: str = "hls",
    ) -> None:
        self.directory = directory
        self.video = video
        self.audio = audio
        self.name = name
        self.frames = 0  # video frames encoded
        self.dropped = 0  # frames dropped because the encoder was behind
        self.failed = False
        self._queue: queue.Queue = queue.Queue(maxsize=QUEUE_FRAMES)
        self._stopping = threading.Event()
        self._readers: list[asyncio.Task] = []
        self._thread: threading.Thread | None = None
        self._done: asyncio.Future | None = None
        self._started = 0.0

    # --- event loop side -------------------------------------------------------------------

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        loop = asyncio.get_running_loop()
        self._done = loop.create_future()
        self._started = time.monotonic()
        self._thread = threading.Thread(
            target=self._run, args=(loop,), name=f"{self.name}-encoder", daemon=True
        )
        self._thread.start()
        self._readers.append(asyncio.ensure_future(self._read("v", self.video)))
        if self.audio is not None:
            self._readers.append(asyncio.ensure_future(self._read("a", self.audio)))

    async def _read(self, kind: str, track: MediaStreamTrack) -> None:
        try:
            while not self._stopping.is_set():
                try:
                    frame = await track.recv()
                except MediaStreamError:
                    return
                try:
                    self._queue.put_nowait((kind, frame, time.monotonic() - self._started))
                except queue.Full:
                    self.dropped += 1
        finally:
            track.stop()  # unsubscribe: the relay stops keeping frames for this reader

    async def stop(self) -> None:
        """Stop reading, let the thread encode what is queued and close the playlist
        (ENDLIST), and wait for it."""
        for task in self._readers:
            task.cancel()
        for track in (self.video, self.audio):
            if track is not None:
                track.stop()
        try:
            self._queue.put_nowait(None)  # the end, after the frames queued before it
        except queue.Full:
            self._stopping.set()  # too far behind: the queued frames are dropped
        if self._done is not None:
            await asyncio.shield(self._done)

    # --- encoder thread --------------------------------------------------------------------

    def _run(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            self._encode()
        except Exception:
            self.failed = True
            log.exception("HLS encoder %s failed; the stream goes on without it", self.name)
            self._stopping.set()
        finally:
            loop.call_soon_threadsafe(_resolve, self._done)

    def _next(self):
        while not self._stopping.is_set():
            try:
                return self._queue.get(timeout=0.25)
            except queue.Empty:
                continue
        return None

    def _encode(self) -> None:
        playlist = self.directory / PLAYLIST
        flags = "temp_file"  # a segment is written aside, then renamed into place
        if playlist.exists():  # live again: continue the recording after a discontinuity
            flags += "+append_list"
        container = None
        try:
            while container is None:
                item = self._next()
                if item is None:
                    return  # ended before the first picture: nothing to write
                kind, frame, arrival = item
                if kind != "v":
                    continue  # the streams are set up from the first picture
                container = av.open(
                    str(playlist),
                    mode="w",
                    format="hls",
                    options={
                        "hls_time": str(SEGMENT_SECONDS),
                        "hls_playlist_type": "event",
                        "hls_segment_filename": str(self.directory / SEGMENT_PATTERN),
                        "hls_flags": flags,
                    },
                )
                mux = _Mux(container, frame.width, frame.height, self.audio is not None)
                mux.video(frame, arrival)
                self.frames += 1
            while (item := self._next()) is not None:
                kind, frame, arrival = item
                if kind == "v":
                    mux.video(frame, arrival)
                    self.frames += 1
                else:
                    mux.audio(frame, arrival)
            mux.flush()
        finally:
            if container is not None:
                container.close()


def _resolve(future: asyncio.Future | None) -> None:
    if future is not None and not future.done():
        future.set_result(None)


class _Mux:
    """The encoders and the muxer of one HLS output (used from the encoder thread only)."""

    def __init__(self, container, width: int, height: int, with_audio: bool) -> None:
        self.container = container
        self.width, self.height = output_size(width, height)
        stream = container.add_stream(
            "libx264",
            rate=30,
            options={"preset": "veryfast", "tune": "zerolatency", "forced-idr": "1"},
        )
        stream.width, stream.height, stream.pix_fmt = self.width, self.height, "yuv420p"
        stream.time_base = Fraction(1, VIDEO_RATE)
        stream.codec_context.time_base = Fraction(1, VIDEO_RATE)
        stream.codec_context.gop_size = 10 * 30  # a cap; keyframes are forced every 2 s
        self.vstream = stream
        self.vclock = Timeline()
        self.last_vpts = -1
        self.last_key: int | None = None

        self.astream = None
        if with_audio:
            self.astream = container.add_stream("aac", rate=AUDIO_RATE)
            self.astream.codec_context.layout = "stereo"
            self.astream.time_base = Fraction(1, AUDIO_RATE)
            self.resampler = av.AudioResampler(
                format="fltp", layout="stereo", rate=AUDIO_RATE, frame_size=1024
            )
            self.aclock = Timeline()
            self.apts: int | None = None  # pts of the next encoded audio sample
            self.ain_next: int | None = None  # where the next input frame should start

    def video(self, frame, arrival: float) -> None:
        pts = round(self.vclock.place(_frame_time(frame), arrival) * VIDEO_RATE)
        pts = max(pts, self.last_vpts + 1)
        self.last_vpts = pts
        out = frame.reformat(self.width, self.height, format="yuv420p")
        if out is frame:  # no conversion needed; the frame is shared with the WebRTC
            # viewers' senders, so give the encoder a copy of its own to stamp
            out = av.VideoFrame.from_ndarray(frame.to_ndarray(), format="yuv420p")
        out.pts, out.time_base = pts, Fraction(1, VIDEO_RATE)
        if self.last_key is None or pts - self.last_key >= SEGMENT_SECONDS * VIDEO_RATE:
            out.pict_type = PictureType.I  # a keyframe every 2 s: segments of 2 s
            self.last_key = pts
        else:
            out.pict_type = PictureType.NONE
        for packet in self.vstream.encode(out):
            self.container.mux(packet)

    def audio(self, frame, arrival: float) -> None:
        if self.astream is None:
            return
        start = round(self.aclock.place(_frame_time(frame), arrival) * AUDIO_RATE)
        if self.apts is None:
            self.apts = start
        elif self.ain_next is not None and start - self.ain_next > AUDIO_GAP:
            self.apts += start - self.ain_next  # lost audio: leave the gap in the timeline
        self.ain_next = start + round(frame.samples * AUDIO_RATE / (frame.sample_rate or 1))
        # the frame is shared with the WebRTC viewers' senders: read it, never change it
        for out in self.resampler.resample(frame):
            out.pts, out.time_base = self.apts, Fraction(1, AUDIO_RATE)
            self.apts += out.samples
            for packet in self.astream.encode(out):
                self.container.mux(packet)

    def flush(self) -> None:
        for packet in self.vstream.encode(None):
            self.container.mux(packet)
        if self.astream is not None:
            for packet in self.astream.encode(None):
                self.container.mux(packet)
