/* The presenter's studio: camera or screen, and microphone, sent to the media service over
   WHIP with a short-lived token from the web app. The state (live, viewers) comes back from
   the web app, which the media service tells through its signed webhook. */
(function () {
  "use strict";
  var box = document.getElementById("studio");
  if (!box || !window.RTCPeerConnection || !navigator.mediaDevices) {
    return;
  }
  var goButton = document.getElementById("go-live");
  var stopButton = document.getElementById("stop-live");
  var preview = document.getElementById("preview");
  var status = document.getElementById("studio-status");
  var pc = null;
  var media = null;
  var session = null;
  var bearer = null;
  var poll = null;

  function say(name, n) {
    var text = box.dataset["text" + name];
    status.textContent = n === undefined ? text : text.split("__N__").join(String(n));
  }

  function capture() {
    var screen = document.getElementById("source-screen").checked;
    var mic = document.getElementById("use-mic").checked;
    var video = screen ?
      navigator.mediaDevices.getDisplayMedia({ video: { frameRate: 30 }, audio: false }) :
      navigator.mediaDevices.getUserMedia({ video: { width: 1280, height: 720, frameRate: 30 } });
    return video.then(function (stream) {
      if (!mic) {
        return stream;
      }
      return navigator.mediaDevices.getUserMedia({ audio: true }).then(function (audio) {
        audio.getAudioTracks().forEach(function (t) { stream.addTrack(t); });
        return stream;
      });
    });
  }

  function gathered(connection) {
    return new Promise(function (resolve) {
      if (connection.iceGatheringState === "complete") {
        resolve();
        return;
      }
      connection.addEventListener("icegatheringstatechange", function () {
        if (connection.iceGatheringState === "complete") {
          resolve();
        }
      });
      setTimeout(resolve, 3000);
    });
  }

  function token() {
    return fetch(box.dataset.tokenUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": box.dataset.csrf },
      body: new URLSearchParams({ role: "publish" })
    }).then(function (response) {
      if (!response.ok) {
        throw new Error("token");
      }
      return response.json();
    });
  }

  function watchState() {
    clearInterval(poll);
    poll = setInterval(function () {
      fetch(box.dataset.stateUrl, { credentials: "same-origin" }).then(function (r) {
        return r.json();
      }).then(function (stream) {
        if (pc && stream.state === "live") {
          say("Viewers", stream.viewers);
        }
      }).catch(function () {});
    }, 5000);
  }

  function end() {
    clearInterval(poll);
    if (session) {
      fetch(session, { method: "DELETE", headers: { "Authorization": "Bearer " + bearer } })
        .catch(function () {});
    }
    if (pc) {
      pc.close();
    }
    if (media) {
      media.getTracks().forEach(function (t) { t.stop(); });
    }
    pc = media = session = null;
    preview.hidden = true;
    goButton.disabled = false;
    stopButton.disabled = true;
  }

  goButton.addEventListener("click", function () {
    goButton.disabled = true;
    say("Starting");
    capture().catch(function (error) {
      say("Denied");
      goButton.disabled = false;
      throw error;
    }).then(function (stream) {
      media = stream;
      preview.srcObject = stream;
      preview.hidden = false;
      preview.play().catch(function () {});
      return token();
    }).then(function (info) {
      bearer = info.token;
      pc = new RTCPeerConnection({ iceServers: info.ice_servers || [] }); // STUN/TURN, if the site has them
      media.getTracks().forEach(function (track) {
        pc.addTransceiver(track, { direction: "sendonly", streams: [media] });
      });
      return pc.createOffer().then(function (offer) {
        return pc.setLocalDescription(offer);
      }).then(function () {
        return gathered(pc);
      }).then(function () {
        return fetch(info.whip, {
          method: "POST",
          headers: { "Content-Type": "application/sdp", "Authorization": "Bearer " + bearer },
          body: pc.localDescription.sdp
        });
      }).then(function (response) {
        if (response.status === 409) {
          say("Busy");
          throw new Error("busy");
        }
        if (response.status !== 201) {
          throw new Error("whip " + response.status);
        }
        var where = response.headers.get("Location");
        session = where ? new URL(where, info.whip).href : null;
        return response.text();
      }).then(function (sdp) {
        return pc.setRemoteDescription({ type: "answer", sdp: sdp });
      });
    }).then(function () {
      say("Live");
      stopButton.disabled = false;
      watchState();
      pc.addEventListener("connectionstatechange", function () {
        if (pc && pc.connectionState === "failed") {
          end();
          say("Failed");
        }
      });
    }).catch(function (error) {
      if (status.textContent !== box.dataset.textDenied && status.textContent !== box.dataset.textBusy) {
        say("Failed");
      }
      end();
      return error;
    });
  });

  stopButton.addEventListener("click", function () {
    end();
    say("Stopped");
    goButton.focus();
  });
  window.addEventListener("pagehide", end);
}());
