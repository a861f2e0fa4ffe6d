// The guest page (GET /guest#<token>): one more person joins a running call from an invitation link.
// Plain DOM on the script-tag SDK (window.Parley). Names and messages are only ever written with
// textContent. The token rides in the URL fragment, which browsers never send to a server; the page
// takes it out of the address bar at once so it does not linger in history or get shared by accident.
(function () {
  'use strict';

  /** Keeps the link for this tab only, so a reload can rejoin (the SDK resumes the same guest). */
  var TOKEN_KEY = 'parley-guest:token';
  /** Set while this tab is in the call, with the name used: a reload rejoins without asking again. */
  var JOINED_KEY = 'parley-guest:joined-as';
  var CALL_DIV_ID = 'guest-call-media';

  var els = {
    title: document.getElementById('guest-title'),
    status: document.getElementById('guest-status'),
    problem: document.getElementById('guest-problem'),
    joinView: document.getElementById('join-view'),
    form: document.getElementById('join-form'),
    name: document.getElementById('guest-name'),
    nameProblem: document.getElementById('name-problem'),
    preview: document.getElementById('preview-video'),
    previewNote: document.getElementById('preview-note'),
    previewMic: document.getElementById('preview-mic'),
    previewCamera: document.getElementById('preview-camera'),
    joinButton: document.getElementById('join-button'),
    callView: document.getElementById('call-view'),
    people: document.getElementById('people'),
    mic: document.getElementById('call-mic'),
    camera: document.getElementById('call-camera'),
    leave: document.getElementById('call-leave'),
    endedView: document.getElementById('ended-view'),
    rejoinView: document.getElementById('rejoin-view'),
    rejoinButton: document.getElementById('rejoin-button'),
    endedDetail: document.getElementById('ended-detail'),
  };

  /** What to tell the guest for each refusal of the link (ParleyError codes). `retry`: the same link may still work. */
  var REFUSALS = {
    invite_expired: { text: 'This invitation has expired; ask for a new link.', retry: false },
    invite_used: { text: 'This invitation has already been used: each link lets one person in. Ask for a new link.', retry: false },
    unauthorized: { text: 'This invitation link is not valid. Check that you opened the whole link, or ask for a new one.', retry: false },
    capacity: { text: 'The call is full right now. Try again when someone has left, or ask the person who invited you.', retry: true },
    conflict: { text: 'This call is over. Ask for a new link if you still need to talk.', retry: false },
    rate_limited: { text: 'Too many attempts. Wait a moment, then try again.', retry: true },
    unavailable: { text: 'The call service cannot be reached. Check your connection and try again.', retry: true },
    timeout: { text: 'The call service did not answer in time. Try again.', retry: true },
  };

  /** Why the call ended for this guest, as a sentence. */
  function endedText(event) {
    var by = event.by && event.by.name ? event.by.name : null;
    switch (event.reason) {
      case 'left':
        return 'You left the call.';
      case 'removed':
        return by ? by + ' removed you from the call.' : 'You were removed from the call.';
      case 'hangup':
        return by ? by + ' ended the call.' : 'The call was ended.';
      case 'closed':
        return 'The conversation was closed.';
      case 'failed':
        return 'The connection was lost.';
      case 'media-denied':
        return 'The camera and microphone were blocked.';
      default:
        return '';
    }
  }

  var token = null;
  var guest = null;
  var previewStream = null;
  var joinMuted = false;
  var joinCameraOff = false;
  var unbind = [];

  function remember(key, value) {
    try {
      if (value === null) sessionStorage.removeItem(key);
      else sessionStorage.setItem(key, value);
    } catch (_) {
      /* storage unavailable: a reload simply asks for the link again */
    }
  }

  function recall(key) {
    try {
      return sessionStorage.getItem(key);
    } catch (_) {
      return null;
    }
  }

  function setStatus(text) {
    els.status.textContent = text;
  }

  function setProblem(text) {
    els.problem.textContent = text || '';
  }

  function show(view) {
    els.joinView.hidden = view !== 'join';
    els.callView.hidden = view !== 'call';
    els.endedView.hidden = view !== 'ended';
    els.rejoinView.hidden = view !== 'rejoin';
    document.body.dataset.view = view;
  }

  /** The link cannot be used (or there is none): say why, and offer nothing that cannot work. */
  function refuse(title, text) {
    stopPreview();
    show('none');
    els.title.textContent = title;
    setStatus('');
    setProblem(text);
    remember(TOKEN_KEY, null);
    remember(JOINED_KEY, null);
  }

  // ---------------------------------------------------------------- preview

  function stopPreview() {
    if (previewStream) {
      previewStream.getTracks().forEach(function (track) {
        track.stop();
      });
    }
    previewStream = null;
    els.preview.srcObject = null;
  }

  async function startPreview() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      els.previewNote.textContent = 'This browser cannot use a camera here. You can still join and listen.';
      return;
    }
    try {
      previewStream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
      // The guest may have joined while the camera was starting: hand nothing to a page that moved on.
      if (els.joinView.hidden) return stopPreview();
      els.preview.srcObject = previewStream;
      els.previewNote.textContent = '';
      applyPreviewToggles();
    } catch (error) {
      var name = error && error.name;
      els.previewNote.textContent =
        name === 'NotAllowedError' || name === 'SecurityError'
          ? 'Your browser blocked the camera or microphone. Allow them with the icon at the left of the address bar, or join without them.'
          : name === 'NotFoundError'
            ? 'No camera or microphone was found. You can still join and listen.'
            : 'The camera or microphone could not be started. You can still join.';
    }
  }

  function applyPreviewToggles() {
    els.previewMic.setAttribute('aria-pressed', String(joinMuted));
    els.previewMic.textContent = joinMuted ? 'You will join muted' : 'Join muted';
    els.previewCamera.setAttribute('aria-pressed', String(joinCameraOff));
    els.previewCamera.textContent = joinCameraOff ? 'You will join with camera off' : 'Join with camera off';
    if (!previewStream) return;
    previewStream.getAudioTracks().forEach(function (t) {
      t.enabled = !joinMuted;
    });
    previewStream.getVideoTracks().forEach(function (t) {
      t.enabled = !joinCameraOff;
    });
    els.preview.hidden = joinCameraOff;
    els.previewNote.textContent = joinCameraOff ? 'Camera off' : '';
  }

  // ---------------------------------------------------------------- in the call

  function selfInCall() {
    if (!guest) return null;
    var id = guest.party.id;
    return guest.video.participants.find(function (p) {
      return p.id === id;
    }) || null;
  }

  function renderPeople() {
    if (!guest) return;
    var selfId = guest.party.id;
    var list = els.people;
    while (list.firstChild) list.removeChild(list.firstChild);
    guest.video.participants
      .filter(function (p) {
        return p.joined || p.id === selfId;
      })
      .sort(function (a, b) {
        return (b.id === selfId ? 1 : 0) - (a.id === selfId ? 1 : 0);
      })
      .forEach(function (p) {
        var item = document.createElement('li');
        item.dataset.participantId = p.id;
        var name = document.createElement('span');
        name.className = 'person-name';
        name.textContent = p.id === selfId ? p.name + ' (you)' : p.name;
        item.appendChild(name);
        var states = [];
        if (!p.audio) states.push('muted');
        if (!p.video) states.push('camera off');
        if (states.length > 0) {
          var state = document.createElement('span');
          state.className = 'person-state';
          state.textContent = ' — ' + states.join(', ');
          item.appendChild(state);
        }
        list.appendChild(item);
      });
  }

  function renderControls() {
    var self = selfInCall();
    var micOn = self ? self.audio : true;
    var cameraOn = self ? self.video : true;
    els.mic.textContent = micOn ? 'Mute' : 'Unmute';
    els.mic.setAttribute('aria-pressed', String(!micOn));
    els.camera.textContent = cameraOn ? 'Camera off' : 'Camera on';
    els.camera.setAttribute('aria-pressed', String(!cameraOn));
  }

  function refreshCall() {
    renderPeople();
    renderControls();
  }

  function droppedOut() {
    show('rejoin');
    els.title.textContent = 'You left the call';
    setStatus('');
    setProblem('');
    els.rejoinButton.focus();
  }

  els.rejoinButton.addEventListener('click', function () {
    if (!guest) return;
    var g = guest;
    void act(els.rejoinButton, async function () {
      await g.rejoinVideo(CALL_DIV_ID);
      show('call');
      els.title.textContent = 'In the call';
      setStatus('Connecting to the others…');
      refreshCall();
    });
  });

  function callEnded(event) {
    unbind.forEach(function (off) {
      off();
    });
    unbind = [];
    remember(TOKEN_KEY, null);
    remember(JOINED_KEY, null);
    if (guest) guest.disconnect();
    guest = null;
    show('ended');
    els.title.textContent = 'The call has ended';
    setStatus('');
    setProblem('');
    els.endedDetail.textContent = endedText(event);
    els.title.focus();
  }

  function follow(g) {
    unbind.push(
      g.on('videoStarted', function () {
        setStatus('Connected.');
      }),
      g.on('videoStateChanged', refreshCall),
      g.on('videoParticipant', function (event, eventName) {
        if (eventName === 'connectionStateChanged' && event.connectionState === 'reconnecting') setStatus('Connection unstable, reconnecting…');
        else if (eventName === 'connectionStateChanged' && event.connectionState === 'connected') setStatus('Connected.');
        else if (eventName === 'participantJoined') setStatus(event.participant.name + ' joined the call.');
        else if (eventName === 'participantLeft') setStatus(event.participant.name + ' left the call.');
        refreshCall();
      }),
      g.on('videoError', function (event) {
        if (event.code === 'media-denied') setProblem('Your browser blocked the camera or microphone: the others cannot see or hear you. Allow them with the icon at the left of the address bar.');
        else if (event.code === 'media-missing') setProblem('No camera or microphone was found: the others cannot see or hear you.');
        else setProblem(event.message);
      }),
      g.on('videoEnded', function (event) {
        // Dropped past the grace period while the call goes on: offered to come back, still connected.
        if (event.reason === 'dropped' && g.video.canRejoin) droppedOut();
        else callEnded(event);
      }),
    );
  }

  async function act(button, action) {
    button.disabled = true;
    try {
      await action();
      setProblem('');
    } catch (error) {
      setProblem(error && error.message ? error.message : String(error));
    } finally {
      button.disabled = false;
      renderControls();
    }
  }

  // ---------------------------------------------------------------- joining

  async function join(name) {
    setProblem('');
    els.joinButton.disabled = true;
    setStatus('Joining the call…');
    // The SDK opens the devices itself; a phone often cannot hand one camera to two users at once.
    stopPreview();
    try {
      guest = await window.Parley.joinAsGuest({ server: location.origin, token: token, name: name, divID: CALL_DIV_ID });
    } catch (error) {
      els.joinButton.disabled = false;
      guest = null;
      remember(JOINED_KEY, null);
      var code = error && error.code;
      var refusal = REFUSALS[code];
      if (refusal && !refusal.retry) return refuse(code === 'conflict' ? 'The call has ended' : 'Cannot join the call', refusal.text);
      setStatus('');
      setProblem(refusal ? refusal.text : 'Could not join: ' + (error && error.message ? error.message : String(error)));
      show('join');
      void startPreview();
      return;
    }
    remember(JOINED_KEY, name);
    follow(guest);
    show('call');
    els.title.textContent = 'In the call';
    setStatus(guest.video.state === 'active' ? 'Connecting to the others…' : 'Joining the call…');
    refreshCall();
    els.mic.focus();
    if (joinMuted) await act(els.mic, function () { return guest.muteAudio(); });
    if (joinCameraOff && guest) await act(els.camera, function () { return guest.disableVideo(); });
  }

  els.form.addEventListener('submit', function (event) {
    event.preventDefault();
    var name = els.name.value.trim();
    if (!name) {
      els.nameProblem.textContent = 'Please enter your name.';
      els.name.setAttribute('aria-invalid', 'true');
      els.name.focus();
      return;
    }
    els.nameProblem.textContent = '';
    els.name.removeAttribute('aria-invalid');
    void join(name);
  });

  els.previewMic.addEventListener('click', function () {
    joinMuted = !joinMuted;
    applyPreviewToggles();
  });
  els.previewCamera.addEventListener('click', function () {
    joinCameraOff = !joinCameraOff;
    applyPreviewToggles();
  });

  els.mic.addEventListener('click', function () {
    var self = selfInCall();
    if (!guest) return;
    var g = guest;
    void act(els.mic, function () {
      return self && !self.audio ? g.unmuteAudio() : g.muteAudio();
    });
  });
  els.camera.addEventListener('click', function () {
    var self = selfInCall();
    if (!guest) return;
    var g = guest;
    void act(els.camera, function () {
      return self && !self.video ? g.enableVideo() : g.disableVideo();
    });
  });
  els.leave.addEventListener('click', function () {
    if (!guest) return;
    var g = guest;
    void act(els.leave, function () {
      return g.leaveVideo();
    });
  });

  // ---------------------------------------------------------------- start

  function start() {
    var fromHash = location.hash.length > 1 ? location.hash.slice(1) : null;
    if (fromHash) {
      remember(TOKEN_KEY, fromHash);
      history.replaceState(null, '', location.pathname + location.search);
    }
    token = fromHash || recall(TOKEN_KEY);
    if (!window.Parley || typeof window.Parley.joinAsGuest !== 'function') {
      return refuse('Cannot join the call', 'The call service did not load. Reload the page to try again.');
    }
    if (!token) {
      return refuse('No invitation', 'This page opens from an invitation link. Ask the person you are talking with to send you one.');
    }
    var rejoinAs = fromHash ? null : recall(JOINED_KEY);
    if (rejoinAs) {
      // A reload during the call: rejoin under the same name (the SDK resumes the same guest).
      els.name.value = rejoinAs;
      show('none');
      void join(rejoinAs);
      return;
    }
    remember(JOINED_KEY, null);
    show('join');
    void startPreview();
  }

  // Another link pasted into this tab changes only the fragment, which loads nothing: start over with it.
  window.addEventListener('hashchange', function () {
    if (location.hash.length > 1 && !guest) location.reload();
  });

  start();
})();
