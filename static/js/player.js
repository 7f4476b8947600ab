/* The live page's video. When the event is live it first asks the media service for WebRTC
   (WHEP: little delay, a small stage); when the stage is full, WebRTC is missing, or the
   page was opened with ?via=hls, it plays HLS (hls.js, or the browser's own HLS); so it does
   when WebRTC cannot connect from the viewer's network (a firewall that blocks UDP, no TURN
   server): the page then keeps to HLS until it is reloaded. It says
   which in the status line. live.js tells it the stream's state as the media service
   reports it (KoePlayer.update). Without JavaScript the page links the HLS playlist. */
(function () {
  "use strict";
  var stage = document.getElementById("stage");
  var video = document.getElementById("player");
  if (!stage || !video) {
    return;
  }
  var status = document.getElementById("stream-status");
  var chat = document.getElementById("chat");
  var csrf = chat ? chat.dataset.csrf : "";
  var forceHls = new URLSearchParams(location.search).get("via") === "hls";
  var playing = null; // {kind, stop}
  var state = stage.dataset.state;
  var retry = null;
  var starting = false; // a start in flight: the viewer counts that arrive meanwhile wait
  var CONNECT_MS = 10000; // WebRTC that has not connected by then will not: HLS instead
  var webrtcBlocked = false; // it never connected from here
  // this page's own id on its playlist requests: the media service counts HLS viewers by it
  var viewerId = Array.prototype.map.call(crypto.getRandomValues(new Uint8Array(12)), function (b) {
    return ("0" + b.toString(16)).slice(-2);
  }).join("");

  function counted(url) { // the playlist's address with this page's id
    return url + (url.indexOf("?") < 0 ? "?" : "&") + "v=" + viewerId;
  }

  function say(name) {
    status.textContent = stage.dataset["text" + name];
    stage.dataset.playing = playing ? playing.kind : "";
  }

  function token() {
    return fetch(stage.dataset.tokenUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrf },
      body: new URLSearchParams({ role: "watch" })
    }).then(function (response) {
      if (!response.ok) {
        throw new Error("token " + response.status);
      }
      return response.json();
    });
  }

  function gathered(pc) { // WHEP without trickle: the offer carries every candidate
    return new Promise(function (resolve) {
      if (pc.iceGatheringState === "complete") {
        resolve();
        return;
      }
      var done = function () {
        if (pc.iceGatheringState === "complete") {
          pc.removeEventListener("icegatheringstatechange", done);
          resolve();
        }
      };
      pc.addEventListener("icegatheringstatechange", done);
      setTimeout(resolve, 3000);
    });
  }

  function playWebRTC(info) {
    var pc = new RTCPeerConnection({ iceServers: info.ice_servers || [] }); // STUN/TURN, if any
    var stream = new MediaStream();
    var session = null;
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.addTransceiver("audio", { direction: "recvonly" });
    pc.addEventListener("track", function (e) {
      stream.addTrack(e.track);
      video.srcObject = stream;
    });
    var connected = false;
    var mine = null; // this connection, while it is the one playing
    function blocked() { // it never connected: this network lets no WebRTC through
      if (playing === mine && !connected) {
        webrtcBlocked = true;
        stop();
        clearTimeout(retry);
        retry = setTimeout(start, 0);
      }
    }
    pc.addEventListener("connectionstatechange", function () {
      if (pc.connectionState === "connected") {
        connected = true;
      } else if (pc.connectionState === "failed" && mine && playing === mine) {
        if (!connected) {
          blocked();
          return;
        }
        stop();
        schedule(); // it dropped: try again (HLS when the stage is full meanwhile)
      }
    });
    return pc.createOffer().then(function (offer) {
      return pc.setLocalDescription(offer);
    }).then(function () {
      return gathered(pc);
    }).then(function () {
      return fetch(info.whep, {
        method: "POST",
        headers: { "Content-Type": "application/sdp", "Authorization": "Bearer " + info.token },
        body: pc.localDescription.sdp
      });
    }).then(function (response) {
      if (response.status !== 201) {
        pc.close();
        throw new Error("whep " + response.status);
      }
      var where = response.headers.get("Location");
      session = where ? new URL(where, info.whep).href : null;
      return response.text();
    }).then(function (sdp) {
      return pc.setRemoteDescription({ type: "answer", sdp: sdp });
    }).then(function () {
      playing = mine = {
        kind: "webrtc",
        stop: function () {
          pc.close();
          if (session) {
            fetch(session, { method: "DELETE", headers: { "Authorization": "Bearer " + info.token } })
              .catch(function () {});
          }
        }
      };
      show();
      say("Webrtc");
      setTimeout(blocked, CONNECT_MS);
    });
  }

  function playHLS(info) {
    if (window.Hls && window.Hls.isSupported()) {
      var hls = new window.Hls({ liveSyncDurationCount: 2, manifestLoadingMaxRetry: 10 });
      hls.on(window.Hls.Events.ERROR, function (_event, data) {
        if (data.fatal) { // e.g. the first segment is not written yet: start again shortly
          stop();
          schedule();
        }
      });
      hls.loadSource(info.whep ? counted(info.hls) : info.hls); // (an external engine: as given)
      hls.attachMedia(video);
      playing = { kind: "hls", stop: function () { hls.destroy(); } };
    } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
      video.src = info.whep ? counted(info.hls) : info.hls;
      playing = { kind: "hls", stop: function () { video.removeAttribute("src"); video.load(); } };
    } else {
      say("Failed");
      return;
    }
    show();
    say(webrtcBlocked ? "Blocked" : "Hls");
  }

  function show() {
    video.hidden = false;
    var started = video.play();
    if (started && started.catch) {
      started.catch(function () {}); // autoplay refused: the controls are there
    }
  }

  function stop() {
    if (playing) {
      playing.stop();
      playing = null;
    }
    video.srcObject = null;
  }

  function schedule() {
    clearTimeout(retry);
    retry = setTimeout(start, 3000);
  }

  function start() {
    if (state !== "live" || playing || starting) {
      return;
    }
    starting = true;
    say("Connecting");
    token().then(function (info) {
      var webrtc = info.whep && !forceHls && !webrtcBlocked && window.RTCPeerConnection;
      return (webrtc ? playWebRTC(info) : Promise.reject(new Error("hls"))).catch(function () {
        if (state === "live" && !playing) {
          playHLS(info);
        }
      });
    }).catch(function () {
      say("Failed");
      schedule();
    }).then(function () {
      starting = false;
      if (state !== "live") { // it ended while we connected
        stop();
        video.hidden = true;
      }
    });
  }

  window.KoePlayer = {
    update: function (stream) {
      if (!stream || stream.state === state && (playing || state !== "live")) {
        return;
      }
      state = stream.state;
      stage.dataset.state = state;
      if (state === "live") {
        start();
      } else {
        stop();
        video.hidden = true;
        say(state === "ended" ? "Ended" : "Idle");
      }
    }
  };
  window.addEventListener("pagehide", stop);
  if (state === "live") {
    start();
  }
}());
