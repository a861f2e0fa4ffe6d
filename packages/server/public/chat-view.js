// Shared pieces of the demo pages: the transcript, the composer and the typing indicator.
// Plain DOM. Chat text and names are only ever written with textContent, never parsed as HTML.
(function () {
  'use strict';

  /** How long a "typing" signal lasts when no "stopped" signal follows (a lost frame, a closed tab). */
  var TYPING_STALE_MS = 6000;
  /** How long after the last keystroke the composer reports that typing stopped. */
  var TYPING_IDLE_MS = 2000;

  /** Formats an ISO timestamp as a short local time. */
  function timeOf(iso) {
    var date = new Date(iso);
    if (isNaN(date.getTime())) return '';
    return date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  }

  /**
   * A transcript rendered into an <ol>: messages kept in seq order, each shown once.
   * `selfId` marks the reader's own messages.
   */
  function createTranscript(list, selfId) {
    var rendered = new Map();

    function itemFor(message) {
      var item = document.createElement('li');
      item.className = 'msg msg-' + message.kind + (message.from.id === selfId ? ' msg-self' : '');
      item.dataset.seq = String(message.seq);
      item.dataset.kind = message.kind;
      if (message.kind === 'event') {
        var event = document.createElement('span');
        event.className = 'msg-text';
        event.textContent = message.text;
        item.appendChild(event);
        return item;
      }
      var meta = document.createElement('span');
      meta.className = 'msg-meta';
      var author = document.createElement('span');
      author.className = 'msg-author';
      author.textContent = message.from.id === selfId ? 'You' : message.from.name;
      var time = document.createElement('time');
      time.dateTime = message.at;
      time.textContent = timeOf(message.at);
      meta.appendChild(author);
      meta.appendChild(document.createTextNode(' '));
      meta.appendChild(time);
      var text = document.createElement('span');
      text.className = 'msg-text';
      text.textContent = message.text;
      item.appendChild(meta);
      item.appendChild(text);
      return item;
    }

    function add(message) {
      if (!message || rendered.has(message.id)) return;
      var item = itemFor(message);
      rendered.set(message.id, item);
      var after = list.lastElementChild;
      while (after && Number(after.dataset.seq) > message.seq) after = after.previousElementSibling;
      if (after) after.after(item);
      else list.prepend(item);
      item.scrollIntoView({ block: 'nearest' });
    }

    return {
      add: add,
      reset: function (messages) {
        rendered.clear();
        list.replaceChildren();
        (messages || []).forEach(add);
      },
      setSelf: function (id) {
        selfId = id;
      },
    };
  }

  /**
   * Wires a composer form: Enter sends (Shift+Enter is a new line), typing is reported while keys
   * are pressed and reported stopped after a pause or a send.
   */
  function bindComposer(form, field, handlers) {
    var typing = false;
    var idleTimer = null;

    // "typing" is reported on every keystroke (the SDK repeats it to the server at a gentle pace, so
    // the other side's indicator does not go stale); "stopped" is reported once.
    function setTyping(value) {
      if (!value && !typing) return;
      typing = value;
      handlers.onTyping(value);
    }

    function submit() {
      var text = field.value.trim();
      if (!text) return;
      clearTimeout(idleTimer);
      setTyping(false);
      field.value = '';
      handlers.onSend(text).catch(function () {
        if (!field.value) field.value = text;
      });
    }

    form.addEventListener('submit', function (event) {
      event.preventDefault();
      submit();
    });
    field.addEventListener('keydown', function (event) {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        submit();
      }
    });
    field.addEventListener('input', function () {
      clearTimeout(idleTimer);
      if (!field.value.trim()) {
        setTyping(false);
        return;
      }
      setTyping(true);
      idleTimer = setTimeout(function () {
        setTyping(false);
      }, TYPING_IDLE_MS);
    });

    return {
      reset: function () {
        clearTimeout(idleTimer);
        typing = false;
      },
    };
  }

  /** A "Name is typing…" line that clears itself when the typing signal goes stale. */
  function createTypingIndicator(element) {
    var staleTimer = null;
    return {
      update: function (from, isTyping) {
        clearTimeout(staleTimer);
        if (!isTyping) {
          element.textContent = '';
          return;
        }
        element.textContent = (from && from.name ? from.name : 'Someone') + ' is typing…';
        staleTimer = setTimeout(function () {
          element.textContent = '';
        }, TYPING_STALE_MS);
      },
      clear: function () {
        clearTimeout(staleTimer);
        element.textContent = '';
      },
    };
  }

  /** Subscribes to an SDK event when the emitter has it; returns an unsubscribe function. */
  function listen(emitter, name, handler) {
    if (!emitter || typeof emitter.on !== 'function') return function () {};
    var result = emitter.on(name, handler);
    return typeof result === 'function'
      ? result
      : function () {
          if (typeof emitter.off === 'function') emitter.off(name, handler);
        };
  }

  /** A human message for a failed SDK call. */
  function describeError(error) {
    if (!error) return 'Something went wrong.';
    var code = error.code ? ' (' + error.code + ')' : '';
    return (error.message || String(error)) + code;
  }

  window.ParleyDemo = {
    createTranscript: createTranscript,
    bindComposer: bindComposer,
    createTypingIndicator: createTypingIndicator,
    listen: listen,
    describeError: describeError,
  };
})();
