/* An event's live page: the chat over Socket.IO (namespace /live). Without JavaScript the page
   works with plain forms; this script makes them live. Every message carries an id made here
   (client_id): a message sent again after a dropped connection is stored once. After a
   reconnect the page asks for what came after the last message it has, and removes what the
   moderators took away meanwhile. Text is always set as text, never as HTML. */
(function () {
  "use strict";
  var section = document.getElementById("chat");
  if (!section || typeof io === "undefined") {
    return;
  }
  var eventId = Number(section.dataset.event);
  var log = document.getElementById("chat-log");
  var template = document.getElementById("chat-item-template");
  var form = document.getElementById("chat-form");
  var status = document.getElementById("chat-status");
  var presence = document.getElementById("presence");
  var empty = document.getElementById("chat-empty");
  var lastId = 0;
  var pending = []; // messages typed while offline: [{client_id, text}]
  // what the page shows, by message id (its held mark), and what moderators took away: a
  // message that comes twice (the catch-up after a reconnect and the room at the same
  // moment) is shown once, and one taken away never comes back
  var shown = {};
  var gone = {};

  function newId() {
    if (window.crypto && crypto.randomUUID) {
      return crypto.randomUUID().replace(/-/g, "");
    }
    return String(Date.now()) + Math.random().toString(36).slice(2, 12);
  }

  function localTime(iso) {
    var date = new Date(iso);
    // as the server writes times (app/i18n.py): 9:30 in Japanese, 09:30 elsewhere, 24-hour
    var lang = document.documentElement.lang;
    return date.toLocaleTimeString(lang, {
      hour: lang.indexOf("ja") === 0 ? "numeric" : "2-digit", minute: "2-digit",
      hourCycle: "h23", timeZone: "Asia/Tokyo"
    });
  }

  function itemFrom(message) {
    var html = template.innerHTML.split("__ID__").join(String(message.id));
    var holder = document.createElement("ol");
    holder.innerHTML = html; // our own server-rendered markup, with a number put in
    var item = holder.firstElementChild;
    item.querySelector(".chat-author").textContent = message.author;
    var time = item.querySelector(".chat-time");
    time.textContent = localTime(message.at);
    time.setAttribute("datetime", message.at);
    item.querySelector(".chat-text").textContent = message.text;
    item.querySelector(".chat-held").hidden = !message.held;
    item.classList.toggle("held", !!message.held);
    if (message.client_id) { // one's own: nothing to report
      var report = item.querySelector("details.report");
      if (report) {
        report.remove();
      }
    }
    return item;
  }

  // a person's own messages and questions reach every page they have open (their own room):
  // a page shows those of its event only
  function ours(payload) {
    return !payload.event || payload.event === eventId;
  }

  function show(message) {
    if (!ours(message) || gone[message.id]) {
      return;
    }
    lastId = Math.max(lastId, message.id);
    var held = !!message.held;
    if (shown[message.id] === held) {
      return; // shown already, as it is
    }
    var existing = document.getElementById("m-" + message.id);
    var item = itemFrom(message);
    shown[message.id] = held;
    if (existing) { // a held message published: the same line, without its mark
      existing.replaceWith(item);
      return;
    }
    if (empty) {
      empty.hidden = true;
    }
    // in the order of the ids: a catch-up may come after newer messages from the room
    var after = null;
    var items = log.children;
    for (var i = items.length - 1; i >= 0 && Number(items[i].dataset.id) > message.id; i--) {
      after = items[i];
    }
    log.insertBefore(item, after);
    log.parentElement.scrollTop = log.parentElement.scrollHeight;
  }

  function startAfresh() { // the page missed more than a catch-up holds
    while (log.firstElementChild) {
      log.removeChild(log.firstElementChild);
    }
    shown = {};
  }

  function remove(ids) {
    ids.forEach(function (id) {
      gone[id] = true;
      delete shown[id];
      var item = document.getElementById("m-" + id);
      if (item) {
        var focused = item.contains(document.activeElement);
        var near = item.nextElementSibling || item.previousElementSibling;
        item.remove();
        if (focused) { // keyboard users keep their place: the next message's first control
          var control = near && near.querySelector("button, summary");
          (control || (form && form.elements.text) || log.parentElement).focus();
        }
      }
      var held = document.getElementById("h-" + id);
      if (held) {
        held.remove();
      }
    });
  }

  log.querySelectorAll("li[data-id]").forEach(function (item) {
    lastId = Math.max(lastId, Number(item.dataset.id));
    shown[Number(item.dataset.id)] = item.classList.contains("held");
  });

  var socket = io("/live", {
    auth: { csrf: section.dataset.csrf },
    transports: ["websocket", "polling"]
  });

  function join() {
    socket.emit("join", { event: eventId, since: lastId }, function (answer) {
      if (!answer || !answer.ok) {
        status.textContent = answer ? answer.message : section.dataset.textFailed;
        return;
      }
      if (answer.already) { // this connection had joined: nothing new to show
        flush();
        return;
      }
      remove(answer.removed || []);
      if (answer.more) {
        startAfresh();
      }
      answer.messages.forEach(show);
      setPinned(answer.pinned);
      setPresence(answer.presence);
      (answer.questions || []).forEach(showQuestion);
      (answer.captions || []).forEach(showCaption);
      if (window.KoePlayer) {
        window.KoePlayer.update(answer.stream);
      }
      status.textContent = section.dataset.textOnline;
      flush();
    });
  }

  function setPinned(text) {
    var pinned = document.getElementById("pinned");
    document.getElementById("pinned-text").textContent = text || "";
    pinned.hidden = !text;
  }

  function setPresence(count) {
    // Words, not a pictograph: an emoji many fonts lack showed as an empty box.
    presence.textContent = presence.dataset.text.replace("__N__", String(count));
  }

  socket.on("connect", join);
  socket.on("disconnect", function () {
    status.textContent = section.dataset.textOffline;
  });
  socket.on("chat", show);
  socket.on("held", function (message) { // moderators only
    if (!ours(message)) {
      return;
    }
    var list = document.getElementById("held-list");
    var blank = document.getElementById("held-item-template");
    if (!list || !blank || document.getElementById("h-" + message.id)) {
      return;
    }
    var holder = document.createElement("ul");
    holder.innerHTML = blank.innerHTML.split("__ID__").join(String(message.id));
    var item = holder.firstElementChild;
    item.querySelector(".held-author").textContent = message.author;
    item.querySelector(".held-text").textContent = message.text;
    var none = document.getElementById("held-none");
    if (none) {
      none.remove();
    }
    list.appendChild(item);
  });
  socket.on("removed", function (data) { remove(data.ids); });
  socket.on("pinned", function (data) { setPinned(data.text); });
  socket.on("presence", function (data) { setPresence(data.count); });

  function sendOne(message, done) {
    socket.timeout(10000).emit("send", {
      event: eventId, client_id: message.client_id, text: message.text
    }, function (timedOut, answer) {
      done(timedOut ? null : answer);
    });
  }

  function flush() {
    if (!pending.length || !socket.connected) {
      return;
    }
    var message = pending[0];
    sendOne(message, function (answer) {
      if (answer === null) { // no answer: keep it, send it again with the same id
        status.textContent = section.dataset.textOffline;
        return;
      }
      pending.shift();
      var error = document.getElementById("chat-error");
      if (answer.ok) {
        error.textContent = "";
        show(answer.message);
      } else {
        error.textContent = answer.message;
        if (form && !form.elements.text.value) {
          form.elements.text.value = message.text; // refused: the text is not lost
        }
      }
      flush();
    });
  }

  if (form) {
    // Enter sends, Shift+Enter starts a new line; never while an input method is composing
    // (Japanese: Enter then confirms the conversion); Ctrl, Alt or Meta with Enter do nothing
    var keys = document.getElementById("chat-keys");
    if (keys) {
      keys.hidden = false;
    }
    form.elements.text.addEventListener("keydown", function (e) {
      if (e.key !== "Enter" || e.shiftKey || e.ctrlKey || e.altKey || e.metaKey) {
        return;
      }
      if (e.isComposing || e.keyCode === 229) {
        return;
      }
      e.preventDefault();
      if (form.requestSubmit) {
        form.requestSubmit();
      } else {
        form.dispatchEvent(new Event("submit", { cancelable: true }));
      }
    });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var text = form.elements.text.value;
      if (!text.trim()) {
        document.getElementById("chat-error").textContent = "";
      }
      pending.push({ client_id: newId(), text: text });
      form.elements.text.value = "";
      form.elements.text.focus();
      flush();
    });
  }

  // --- Q&A ---------------------------------------------------------------------------------
  var qa = document.getElementById("qa");
  var questionTemplate = document.getElementById("question-template");
  var askForm = document.getElementById("ask-form");
  var stateLists = { answering: "q-now", answered: "q-answered" }; // the others: q-open

  function questionFrom(question, old) {
    var html = questionTemplate.innerHTML.split("__ID__").join(String(question.id));
    var holder = document.createElement("ol");
    holder.innerHTML = html; // our own server-rendered markup, with a number put in
    var item = holder.firstElementChild;
    // what only this viewer knows (their own question, their vote) is kept from before
    var mine = question.mine !== undefined ? question.mine : (old ? old.dataset.mine === "1" : false);
    var voted = question.voted !== undefined ? question.voted : (old ? old.dataset.voted === "1" : false);
    item.dataset.mine = mine ? "1" : "0";
    item.dataset.voted = voted ? "1" : "0";
    item.dataset.state = question.state;
    item.dataset.votes = String(question.votes);
    item.className = "question state-" + question.state;
    item.querySelector(".q-author").textContent = question.author;
    item.querySelector(".q-text").textContent = question.text;
    item.querySelector(".q-votes").textContent = qa.dataset.textVotes.split("__N__").join(String(question.votes));
    item.querySelectorAll(".q-label").forEach(function (label) {
      label.hidden = !label.classList.contains("q-label-" + question.state);
    });
    item.querySelectorAll("form[data-from]").forEach(function (f) {
      f.hidden = f.dataset.from.split(" ").indexOf(question.state) < 0;
    });
    var vote = item.querySelector("form[data-qa=vote]");
    if (vote) {
      if (mine) {
        vote.remove();
      } else {
        vote.hidden = question.state !== "open" && question.state !== "answering";
        vote.action = vote.action.replace(/\/(un)?vote$/, voted ? "/unvote" : "/vote");
        vote.querySelector("button").setAttribute("aria-pressed", voted ? "true" : "false");
      }
    }
    var opinion = item.querySelector("details.q-opinion");
    if (opinion && question.opinion) {
      opinion.hidden = true;
    }
    return item;
  }

  function sortOpen(list) {
    var rank = { pending: 0, open: 1, dismissed: 2 };
    Array.prototype.slice.call(list.children).sort(function (a, b) {
      return (rank[a.dataset.state] - rank[b.dataset.state]) ||
        (Number(b.dataset.votes) - Number(a.dataset.votes)) ||
        (Number(a.dataset.id) - Number(b.dataset.id));
    }).forEach(function (item) { list.appendChild(item); });
  }

  function showQuestion(question) {
    if (!qa || !questionTemplate || !ours(question)) {
      return;
    }
    var old = document.getElementById("q-" + question.id);
    var focused = old && old.contains(document.activeElement) ? document.activeElement.closest("form") : null;
    var item = questionFrom(question, old);
    if (old) {
      old.remove();
    }
    var list = document.getElementById(stateLists[question.state] || "q-open");
    list.appendChild(item);
    if (list.id === "q-open") {
      sortOpen(list);
    }
    if (focused && focused.dataset.qa) { // keyboard users keep their place
      var again = item.querySelector("form[data-qa=" + focused.dataset.qa + "] button");
      if (again && !again.closest("form").hidden) {
        again.focus();
      }
    }
  }

  socket.on("question", showQuestion);
  socket.on("question_gone", function (data) {
    data.ids.forEach(function (id) {
      var item = document.getElementById("q-" + id);
      if (item && item.dataset.mine !== "1") {
        item.remove();
      }
    });
  });

  if (askForm) {
    askForm.addEventListener("submit", function (e) {
      if (!socket.connected) {
        return; // the plain form does it
      }
      e.preventDefault();
      var error = document.getElementById("ask-error");
      var anonymous = askForm.elements.anonymous;
      var text = askForm.elements.text.value;
      socket.timeout(10000).emit("ask", {
        event: eventId, client_id: askForm.elements.client_id.value, text: text,
        anonymous: !!(anonymous && anonymous.checked)
      }, function (timedOut, answer) {
        if (timedOut) {
          error.textContent = section.dataset.textFailed; // the text stays; same id again
          return;
        }
        if (!answer.ok) {
          error.textContent = answer.message;
          return;
        }
        error.textContent = "";
        askForm.elements.text.value = "";
        askForm.elements.client_id.value = newId();
        showQuestion(answer.question);
      });
    });
  }

  // --- captions ----------------------------------------------------------------------------
  var captionBox = document.getElementById("captions");

  function showCaption(line) {
    if (!captionBox || captionBox.querySelector('[data-id="' + line.id + '"]')) {
      return;
    }
    var p = document.createElement("p");
    p.className = "caption-line";
    p.dataset.id = String(line.id);
    p.textContent = line.text;
    captionBox.appendChild(p);
    while (captionBox.children.length > 2) { // two lines over the video, as on television
      captionBox.removeChild(captionBox.firstElementChild);
    }
    captionBox.hidden = false;
  }

  // the question being answered when the stream ends was answered (the server records it so)
  function streamEnded(stream) {
    if (!stream || stream.state !== "ended") {
      return;
    }
    document.querySelectorAll("#qa li.question[data-state=answering]").forEach(function (item) {
      showQuestion({
        id: Number(item.dataset.id), event: eventId, state: "answered",
        votes: Number(item.dataset.votes), author: item.querySelector(".q-author").textContent,
        text: item.querySelector(".q-text").textContent
      });
    });
  }

  socket.on("caption", showCaption);
  socket.on("stream", function (stream) {
    if (window.KoePlayer) {
      window.KoePlayer.update(stream);
    }
    streamEnded(stream);
  });

  var captionForm = document.getElementById("caption-form");
  if (captionForm) {
    captionForm.addEventListener("submit", function (e) {
      if (!socket.connected) {
        return;
      }
      e.preventDefault();
      var input = captionForm.elements.text;
      var error = document.getElementById("caption-error");
      var text = input.value;
      input.value = ""; // the captioner types on at once
      socket.timeout(10000).emit("caption", { event: eventId, text: text }, function (timedOut, answer) {
        if (timedOut || !answer.ok) {
          error.textContent = timedOut ? section.dataset.textFailed : answer.message;
          if (!input.value) {
            input.value = text;
          }
          return;
        }
        error.textContent = "";
        showCaption(answer.caption);
      });
    });
  }

  document.addEventListener("submit", function (e) {
    var target = e.target;
    var action = target.dataset && target.dataset.qa;
    if (!action || !socket.connected) {
      return;
    }
    e.preventDefault();
    var id = Number(target.closest("li").dataset.id);
    var handle = function (answer) {
      if (!answer || !answer.ok) {
        status.textContent = answer ? answer.message : "";
        return;
      }
      if (answer.question) {
        showQuestion(answer.question);
      }
    };
    if (action === "vote") {
      var up = target.action.slice(-5) !== "unvote";
      socket.emit("vote", { event: eventId, question: id, up: up }, handle);
    } else {
      socket.emit("question", { event: eventId, question: id, action: action }, handle);
    }
  });

  // moderators' and readers' buttons: over the socket, the page stays
  var actions = { hide: true, release: true, report: true, measure: true };
  document.addEventListener("submit", function (e) {
    var target = e.target;
    var action = target.dataset && target.dataset.action;
    if (!actions[action] || !socket.connected) {
      return; // the plain form does it
    }
    e.preventDefault();
    var id = Number(target.action.split("/").slice(-2)[0]);
    var data = { event: eventId, message: id };
    if (action === "report") {
      data.reason = target.elements.reason.value;
    }
    if (action === "measure") {
      data.kind = e.submitter ? e.submitter.value : "timeout";
      var minutes = target.querySelector("input[name=minutes]:checked");
      data.minutes = minutes ? Number(minutes.value) : null;
    }
    socket.emit(action, data, function (answer) {
      status.textContent = answer && answer.ok ? status.textContent : (answer ? answer.message : "");
      var details = target.closest("details");
      if (details && answer && answer.ok && answer.message) {
        // said where it was asked, and focused: the keyboard and the screen reader are there
        var thanks = document.createElement("p");
        thanks.className = "muted";
        thanks.tabIndex = -1;
        thanks.textContent = answer.message;
        details.replaceWith(thanks);
        thanks.focus();
      } else if (details && answer && answer.ok) {
        details.open = false;
        details.querySelector("summary").focus();
      }
      if ((action === "release" || action === "hide") && answer && answer.ok) {
        var held = document.getElementById("h-" + id);
        if (held) {
          held.remove();
        }
      }
    });
  });
}());
