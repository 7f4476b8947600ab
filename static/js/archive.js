/* The archive's recording: an HLS playlist (the stream's, ended), played with hls.js or the
   browser's own HLS; its captions are a <track> of the page. */
(function () {
  "use strict";
  var video = document.getElementById("archive-player");
  if (!video) {
    return;
  }
  var source = video.dataset.hls;
  if (window.Hls && window.Hls.isSupported()) {
    var hls = new window.Hls();
    hls.loadSource(source);
    hls.attachMedia(video);
  } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
    video.src = source;
  }
}());
