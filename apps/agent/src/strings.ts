/**
 * Every word the agent workspace shows or announces, in one place so it can be translated.
 * Functions take the variable parts; they never build markup (everything is rendered as text).
 */
export const strings = {
  product: 'Parley',
  /** The tab title with a count of what needs attention, e.g. "(2) Parley". */
  title: (count: number) => (count > 0 ? `(${count}) Parley` : 'Parley'),

  signIn: {
    heading: 'Sign in to Parley',
    intro: 'The agent workspace: take visitors from the queue, chat, and lift a chat into a call.',
    email: 'Email',
    password: 'Password',
    submit: 'Sign in',
    working: 'Signing in…',
    resuming: 'Reconnecting to your workspace…',
    failed: 'Wrong email or password.',
    unreachable: 'The Parley server cannot be reached. Check your connection and try again.',
    expired: 'Your session has ended. Please sign in again.',
  },

  header: {
    available: 'Available for new chats',
    online: 'Online',
    away: 'Away',
    signOut: 'Sign out',
    signedInAs: (name: string) => `Signed in as ${name}`,
    connection: {
      connecting: 'Connecting…',
      connected: 'Connected',
      reconnecting: 'Reconnecting…',
      disconnected: 'Disconnected',
    } as Record<string, string>,
  },

  queue: {
    heading: 'Waiting visitors',
    empty: 'Nobody is waiting.',
    accept: 'Accept',
    waiting: (wait: string) => `waiting ${wait}`,
    acceptFailed: 'Another agent took this conversation first.',
  },

  conversations: {
    heading: 'My conversations',
    empty: 'No conversations yet. Accept a visitor from the queue.',
    unread: (n: number) => (n === 1 ? '1 unread message' : `${n} unread messages`),
    closed: 'closed',
  },

  conversation: {
    none: 'Select a conversation, or accept a visitor from the queue.',
    heading: (name: string) => `Chat with ${name}`,
    transcript: 'Transcript',
    typing: (name: string) => `${name} is typing…`,
    message: 'Message',
    send: 'Send',
    close: 'Close conversation',
    dismiss: 'Remove from list',
    closed: 'This conversation is closed.',
    sendFailed: 'The message could not be sent.',
    you: 'You',
    newMessage: (name: string, text: string) => `${name}: ${text}`,
    newConversation: (name: string) => `New conversation with ${name}`,
    newVisitor: (name: string) => `${name} is waiting`,
  },

  details: {
    heading: 'Visitor',
    name: 'Name',
    page: 'Page',
    browser: 'Browser',
    unknown: 'unknown',
  },

  call: {
    heading: 'Call',
    panel: 'Current call',
    startVideo: 'Start video',
    startVoice: 'Start voice',
    busy: 'You are already in a call in another conversation.',
    mute: 'Mute',
    unmute: 'Unmute',
    cameraOff: 'Camera off',
    cameraOn: 'Camera on',
    end: 'End call',
    duration: 'Call duration',
    stage: 'Call video',
    request: (name: string, video: boolean) => `${name} asks for a ${video ? 'video' : 'voice'} call`,
    accept: 'Accept',
    decline: 'Decline',
    state: {
      invited: (name: string) => `Calling ${name}…`,
      requested: (name: string) => `${name} is asking for a call`,
      connecting: 'Connecting…',
      connected: 'Connected',
      reconnecting: 'Connection lost, reconnecting…',
      failed: 'The connection failed',
    },
    ended: {
      hangup: 'Call ended',
      declined: 'The visitor declined the call',
      timeout: 'Nobody answered the call',
      failed: 'The call failed',
      closed: 'Call ended: the conversation was closed',
      cancelled: 'The call was withdrawn',
      'media-denied': 'Call ended: camera or microphone not allowed',
    } as Record<string, string>,
    error: (message: string) => `Call problem: ${message}`,
  },
} as const;
