// The demo shop's chat box, built on the Parley SDK (window.Parley).
(function () {
  'use strict';

  var demo = window.ParleyDemo;
  /** Set while this browser has an open chat, so a reload resumes it instead of waiting for a click. */
  var RESUME_KEY = 'parley-demo:visitor-chatting';

  var els = {
    status: document.getElementById('status'),
    startForm: document.getElementById('start-form'),
    name: document.getElementById('visitor-name'),
    startButton: document.getElementById('start-chat'),
    panel: document.getElementById('chat-panel'),
    transcript: document.getElementById('transcript'),
    typing: document.getElementById('typing'),
    composer: document.getElementById('composer'),
    message: document.getElementById('message'),
    endChat: document.getElementById('end-chat'),
    error: document.getElementById('error'),
  };

  var visitor = null;
  var contact = null;
  var connection = 'idle';
  var closed = false;
  var agentName = null;
  var unbindContact = [];
  var transcript = demo.createTranscript(els.transcript, null);
  var typingIndicator = demo.createTypingIndicator(els.typing);

  function setStatus(state, text) {
    els.status.dataset.state = state;
    els.status.textContent = text;
  }

  function showError(error) {
    els.error.textContent = error ? demo.describeError(error) : '';
  }

  /** Works out the status line from the connection and the conversation. */
  function refreshStatus() {
    if (connection === 'connecting') return setStatus('connecting', 'Connecting…');
    if (connection === 'reconnecting') return setStatus('reconnecting', 'Connection lost — reconnecting…');
    if (connection === 'disconnected') return setStatus('disconnected', 'Disconnected.');
    if (!contact) {
      return setStatus('idle', visitor ? 'Connected. Start a chat when you are ready.' : 'Not connected.');
    }
    if (closed) return setStatus('closed', 'This chat is closed.');
    if (contact.agentId) {
      return setStatus('connected', agentName ? 'Connected — chatting with ' + agentName + '.' : 'Connected to an agent.');
    }
    return setStatus('queued', 'Queued — waiting for an agent to join…');
  }

  function learnAgentName(message) {
    if (message && message.from && message.from.role === 'agent') agentName = message.from.name;
    if (contact && contact.agent && contact.agent.name) agentName = contact.agent.name;
  }

  function setChatting(chatting) {
    els.panel.hidden = !chatting && !contact;
    els.startForm.hidden = chatting;
    els.message.disabled = !chatting;
    els.composer.querySelector('button').disabled = !chatting;
    els.endChat.disabled = !chatting;
    try {
      if (chatting) localStorage.setItem(RESUME_KEY, '1');
      else localStorage.removeItem(RESUME_KEY);
    } catch (_) {
      /* storage unavailable: the chat simply does not resume on reload */
    }
  }

  function unbind() {
    unbindContact.forEach(function (off) {
      off();
    });
    unbindContact = [];
  }

  /** Shows a conversation (new or resumed) and follows its events. */
  function showContact(next) {
    unbind();
    contact = next;
    closed = contact.status === 'closed';
    agentName = null;
    transcript.setSelf(visitor.id);
    transcript.reset(contact.messages);
    (contact.messages || []).forEach(learnAgentName);
    typingIndicator.clear();
    unbindContact.push(
      demo.listen(contact, 'message', function (message) {
        transcript.add(message);
        learnAgentName(message);
        if (message.from && message.from.id !== visitor.id) typingIndicator.clear();
        refreshStatus();
      }),
      demo.listen(contact, 'typing', function (event) {
        typingIndicator.update(event.from, event.typing);
      }),
      demo.listen(contact, 'updated', refreshStatus),
      demo.listen(contact, 'closed', function () {
        closed = true;
        typingIndicator.clear();
        setChatting(false);
        els.startButton.textContent = 'Start a new chat';
        refreshStatus();
      }),
    );
    setChatting(!closed);
    refreshStatus();
  }

  function onConnectionState(event) {
    var state = typeof event === 'string' ? event : event && event.state;
    if (!state) return;
    connection = state === 'connected' || state === 'open' ? 'connected' : state;
    refreshStatus();
  }

  async function connect() {
    if (visitor) return visitor;
    connection = 'connecting';
    refreshStatus();
    var options = { server: location.origin };
    var name = els.name.value.trim();
    if (name) options.name = name;
    try {
      visitor = await window.Parley.connectVisitor(options);
    } finally {
      connection = visitor ? 'connected' : 'idle';
      refreshStatus();
    }
    demo.listen(visitor, 'connectionStateChanged', onConnectionState);
    return visitor;
  }

  async function startChat() {
    showError(null);
    els.startButton.disabled = true;
    try {
      await connect();
      // startChat returns the open conversation when there is one, or opens a new one.
      showContact(await visitor.startChat());
      els.message.focus();
    } catch (error) {
      showError(error);
      refreshStatus();
    } finally {
      els.startButton.disabled = false;
    }
  }

  async function resume() {
    try {
      await connect();
      if (visitor.contact) showContact(visitor.contact);
      else setChatting(false);
    } catch (error) {
      showError(error);
    }
  }

  els.startForm.addEventListener('submit', function (event) {
    event.preventDefault();
    startChat();
  });

  demo.bindComposer(els.composer, els.message, {
    onSend: function (text) {
      if (!contact || closed) return Promise.reject(new Error('no open chat'));
      showError(null);
      return contact.sendMessage(text).then(
        function (message) {
          transcript.add(message);
        },
        function (error) {
          showError(error);
          throw error;
        },
      );
    },
    onTyping: function (typing) {
      if (contact && !closed) contact.setTyping(typing);
    },
  });

  els.endChat.addEventListener('click', function () {
    if (!contact || closed) return;
    els.endChat.disabled = true;
    contact.close().catch(function (error) {
      els.endChat.disabled = false;
      showError(error);
    });
  });

  if (!window.Parley) {
    setStatus('idle', 'The chat is unavailable (the Parley SDK did not load).');
    els.startButton.disabled = true;
    return;
  }
  var resumeWanted = false;
  try {
    resumeWanted = localStorage.getItem(RESUME_KEY) === '1';
  } catch (_) {
    /* no storage, no resume */
  }
  if (resumeWanted) resume();
  refreshStatus();
})();
