// The demo agent workspace, built on the Parley SDK (window.Parley).
(function () {
  'use strict';

  var demo = window.ParleyDemo;
  var els = {
    signin: document.getElementById('signin'),
    signinForm: document.getElementById('signin-form'),
    signinButton: document.getElementById('signin-button'),
    email: document.getElementById('email'),
    password: document.getElementById('password'),
    bar: document.getElementById('agent-bar'),
    agentName: document.getElementById('agent-name'),
    available: document.getElementById('available'),
    connection: document.getElementById('connection'),
    desk: document.getElementById('desk'),
    queue: document.getElementById('queue'),
    queueEmpty: document.getElementById('queue-empty'),
    queueMore: document.getElementById('queue-more'),
    conversations: document.getElementById('conversations'),
    conversationsEmpty: document.getElementById('conversations-empty'),
    title: document.getElementById('conversation-title'),
    conversationStatus: document.getElementById('conversation-status'),
    transcript: document.getElementById('transcript'),
    typing: document.getElementById('typing'),
    composer: document.getElementById('composer'),
    message: document.getElementById('message'),
    closeButton: document.getElementById('close-conversation'),
    error: document.getElementById('error'),
  };

  var agent = null;
  /** sessionID → { contact, name, closed, closedBy, unread } */
  var conversations = new Map();
  /** sessionID → visitor name, learnt from the queue (the Contact carries only the visitor's id). */
  var knownNames = new Map();
  var selected = null;
  var transcript = demo.createTranscript(els.transcript, null);
  var typingIndicator = demo.createTypingIndicator(els.typing);

  function showError(error) {
    els.error.textContent = error ? demo.describeError(error) : '';
  }

  var connectionState = 'connected';
  var presence = 'online';

  /** The header's status: the connection when it is not up, otherwise this agent's presence. */
  function renderStatus() {
    var labels = { reconnecting: 'Reconnecting…', connecting: 'Connecting…', closed: 'Disconnected' };
    var state = connectionState === 'connected' ? presence : connectionState;
    els.connection.dataset.state = state;
    els.connection.textContent = labels[state] || (presence === 'away' ? 'Away' : 'Online');
  }

  function setConnection(state) {
    connectionState = state === 'open' ? 'connected' : state;
    renderStatus();
  }

  function setPresence(next) {
    presence = next;
    els.available.checked = next !== 'away';
    renderStatus();
  }

  function visitorNameOf(contact) {
    if (contact.visitor && contact.visitor.name) return contact.visitor.name;
    var known = knownNames.get(contact.sessionID);
    if (known) return known;
    var fromVisitor = (contact.messages || []).find(function (m) {
      return m.from && m.from.role === 'visitor';
    });
    return fromVisitor ? fromVisitor.from.name : 'Visitor';
  }

  // ------------------------------------------------------------------ queue

  /** The first waiting visitors (the SDK's bounded view) and, when more wait, "and K more". */
  function renderQueue(queue, size) {
    els.queue.replaceChildren();
    queue.forEach(function (entry) {
      knownNames.set(entry.sessionID, entry.visitor.name);
      var item = document.createElement('li');
      item.className = 'queue-item';
      var name = document.createElement('span');
      name.className = 'queue-name';
      name.id = 'queue-' + entry.sessionID;
      name.textContent = entry.visitor.name;
      var first = document.createElement('span');
      first.className = 'queue-first';
      first.textContent = entry.firstMessage || '';
      var accept = document.createElement('button');
      accept.type = 'button';
      accept.textContent = 'Accept';
      accept.setAttribute('aria-describedby', name.id);
      accept.addEventListener('click', function () {
        acceptConversation(entry.sessionID, accept);
      });
      item.appendChild(name);
      item.appendChild(first);
      item.appendChild(accept);
      els.queue.appendChild(item);
    });
    els.queueEmpty.hidden = queue.length > 0;
    var more = Math.max(0, (typeof size === 'number' ? size : queue.length) - queue.length);
    els.queueMore.textContent = 'and ' + more + ' more';
    els.queueMore.hidden = more === 0;
  }

  async function refreshQueue() {
    if (!agent) return;
    try {
      var queue = await agent.queue();
      renderQueue(queue, agent.queueSize);
    } catch (error) {
      showError(error);
    }
  }

  async function acceptConversation(sessionID, button) {
    button.disabled = true;
    showError(null);
    try {
      var contact = await agent.accept(sessionID);
      addConversation(contact);
      select(contact.sessionID);
    } catch (error) {
      showError(error);
    }
    refreshQueue();
  }

  // ------------------------------------------------------------------ conversations

  function renderConversationList() {
    els.conversations.replaceChildren();
    conversations.forEach(function (entry, sessionID) {
      var item = document.createElement('li');
      var button = document.createElement('button');
      button.type = 'button';
      button.className = 'conversation-link';
      if (sessionID === selected) button.setAttribute('aria-current', 'true');
      var name = document.createElement('span');
      name.className = 'conversation-name';
      name.textContent = entry.name;
      var note = document.createElement('span');
      note.className = 'conversation-note';
      note.textContent = entry.closed ? 'closed' : entry.unread > 0 ? entry.unread + ' new' : '';
      button.appendChild(name);
      button.appendChild(document.createTextNode(' '));
      button.appendChild(note);
      button.addEventListener('click', function () {
        select(sessionID);
      });
      item.appendChild(button);
      els.conversations.appendChild(item);
    });
    els.conversationsEmpty.hidden = conversations.size > 0;
  }

  function addConversation(contact) {
    if (conversations.has(contact.sessionID)) return;
    var entry = { contact: contact, name: visitorNameOf(contact), closed: false, closedBy: null, unread: 0 };
    conversations.set(contact.sessionID, entry);
    demo.listen(contact, 'message', function (message) {
      if (message.from && message.from.role === 'visitor') entry.name = message.from.name;
      if (selected === contact.sessionID) {
        transcript.add(message);
        if (message.from && message.from.id !== agent.id) typingIndicator.clear();
      } else {
        entry.unread += 1;
      }
      renderConversationList();
    });
    demo.listen(contact, 'typing', function (event) {
      if (selected === contact.sessionID) typingIndicator.update(event.from, event.typing);
    });
    demo.listen(contact, 'closed', function (event) {
      entry.closed = true;
      entry.closedBy = event && event.by ? event.by : null;
      if (selected === contact.sessionID) showSelected();
      renderConversationList();
    });
    renderConversationList();
    var current = selected ? conversations.get(selected) : null;
    if (!current || current.closed) select(contact.sessionID);
  }

  function showSelected() {
    var entry = selected ? conversations.get(selected) : null;
    var open = !!entry && !entry.closed;
    els.message.disabled = !open;
    els.composer.querySelector('button').disabled = !open;
    els.closeButton.disabled = !open;
    if (!entry) {
      els.title.textContent = 'No conversation selected';
      els.conversationStatus.textContent = '';
      return;
    }
    els.title.textContent = 'Chat with ' + entry.name;
    els.conversationStatus.textContent = entry.closed
      ? 'Closed' + (entry.closedBy ? ' by ' + entry.closedBy.name : '') + '.'
      : 'Open.';
  }

  function select(sessionID) {
    var entry = conversations.get(sessionID);
    if (!entry) return;
    selected = sessionID;
    entry.unread = 0;
    entry.name = visitorNameOf(entry.contact);
    transcript.reset(entry.contact.messages);
    typingIndicator.clear();
    showSelected();
    renderConversationList();
  }

  // ------------------------------------------------------------------ sign-in

  async function signIn() {
    showError(null);
    els.signinButton.disabled = true;
    try {
      agent = await window.Parley.connectAgent({
        server: location.origin,
        email: els.email.value.trim(),
        password: els.password.value,
      });
    } catch (error) {
      showError(error);
      els.signinButton.disabled = false;
      return;
    }
    els.password.value = '';
    els.signin.hidden = true;
    els.desk.hidden = false;
    els.bar.hidden = false;
    els.agentName.textContent = agent.name;
    transcript.setSelf(agent.id);
    setPresence(agent.presence === 'away' ? 'away' : 'online');
    setConnection('connected');
    demo.listen(agent, 'contact', function (contact) {
      addConversation(contact);
      refreshQueue();
    });
    demo.listen(agent, 'queue', function (queue, info) {
      if (Array.isArray(queue)) renderQueue(queue, info && info.size);
      else refreshQueue();
    });
    demo.listen(agent, 'connectionStateChanged', function (event) {
      var state = typeof event === 'string' ? event : event && event.state;
      if (state) setConnection(state);
    });
    (agent.contacts || []).forEach(addConversation);
    refreshQueue();
  }

  els.signinForm.addEventListener('submit', function (event) {
    event.preventDefault();
    signIn();
  });

  els.available.addEventListener('change', function () {
    var wanted = els.available.checked ? 'online' : 'away';
    showError(null);
    agent.setPresence(wanted).then(
      function () {
        setPresence(wanted);
        refreshQueue();
      },
      function (error) {
        setPresence(presence);
        showError(error);
      },
    );
  });

  demo.bindComposer(els.composer, els.message, {
    onSend: function (text) {
      var entry = selected ? conversations.get(selected) : null;
      if (!entry || entry.closed) return Promise.reject(new Error('no open conversation'));
      showError(null);
      return entry.contact.sendMessage(text).then(
        function (message) {
          if (selected === message.sessionID) transcript.add(message);
        },
        function (error) {
          showError(error);
          throw error;
        },
      );
    },
    onTyping: function (typing) {
      var entry = selected ? conversations.get(selected) : null;
      if (entry && !entry.closed) entry.contact.setTyping(typing);
    },
  });

  els.closeButton.addEventListener('click', function () {
    var entry = selected ? conversations.get(selected) : null;
    if (!entry || entry.closed) return;
    els.closeButton.disabled = true;
    entry.contact.close().catch(function (error) {
      els.closeButton.disabled = false;
      showError(error);
    });
  });

  if (!window.Parley) {
    showError(new Error('The Parley SDK did not load.'));
    els.signinButton.disabled = true;
  }
})();
