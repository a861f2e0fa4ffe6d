/*
 * Every word the visitor widget shows or announces, in one place so it can be translated.
 * `loaderStrings` is all the loader needs (kept apart so the loader bundle carries nothing else);
 * `strings` is the chat and call app inside the frame.
 */

/** Words of the loader (the launcher button on the host page). */
export const loaderStrings = {
  openChat: 'Open chat',
  closeChat: 'Close chat',
  frameTitle: 'Chat window',
  unavailable: 'Chat is not available on this site right now.',
  unread: (count: number): string => (count === 1 ? '1 new message' : `${count} new messages`),
};

/** Words of the chat and call app. */
export const strings = {
  title: 'Chat with us',
  defaultGreeting: 'Hi! How can we help you today?',
  minimize: 'Minimize chat',
  endChat: 'End chat',
  startNewChat: 'Start a new chat',
  message: 'Message',
  messagePlaceholder: 'Write a message…',
  send: 'Send',
  transcript: 'Conversation',
  you: 'You',
  connecting: 'Connecting…',
  statusQueued: 'Waiting for an agent',
  queuedNote: 'You are in the queue. An agent will be with you shortly; you can keep writing.',
  statusOnline: 'Online',
  statusReconnecting: 'Reconnecting…',
  reconnectingNote: 'Connection lost. Reconnecting… Messages you write are sent when it is back.',
  statusClosed: 'Chat ended',
  closedNote: 'This conversation has ended.',
  failed: 'The chat could not connect. Please try again later.',
  retry: 'Try again',
  typing: (name: string): string => `${name} is typing…`,
  sending: 'Sending…',
  sendFailed: 'Not sent.',

  videoCall: 'Video call',
  voiceCall: 'Voice call',
  callsNeedAgent: 'Calls are possible once an agent has joined.',
  invitationTitle: (name: string, video: boolean): string =>
    `${name} invites you to a ${video ? 'video' : 'voice'} call`,
  invitationHint: 'Your camera and microphone are only used after you accept.',
  invitationNotice: (name: string): string => `${name} is calling you`,
  accept: 'Accept',
  decline: 'Decline',
  requested: 'Calling the agent… waiting for an answer.',
  cancelCall: 'Cancel call',
  declinedByAgent: 'The agent could not take the call right now.',
  mute: 'Mute',
  unmute: 'Unmute',
  cameraOff: 'Camera off',
  cameraOn: 'Camera on',
  shareScreen: 'Share screen',
  stopSharing: 'Stop sharing',
  screenBusy: 'Someone else is sharing their screen; one screen at a time.',
  endCall: 'End call',
  callRegion: 'Call',
  callConnecting: 'Connecting the call…',
  callActive: (video: boolean, cameraOn: boolean): string =>
    video ? (cameraOn ? 'In a video call' : 'In a video call — your camera is off') : 'In a voice call',
  callReconnecting: 'Connection unstable. Reconnecting the call…',
  callEnded: (reason: string): string => `Call ended: ${reason}.`,
  endReasons: {
    hangup: 'the call was hung up',
    declined: 'the call was declined',
    timeout: 'nobody answered in time',
    failed: 'the connection failed',
    closed: 'the conversation ended',
    cancelled: 'the call was cancelled',
    'media-denied': 'the camera or microphone is blocked',
    elsewhere: 'it goes on in another tab',
  } as Record<string, string>,
  dismiss: 'Dismiss',
  droppedOut: 'You left the call',
  rejoin: 'Rejoin',

  inviteSomeone: 'Invite someone',
  inviteMaking: 'Making a link…',
  inviteTitle: 'Invite someone to this call',
  inviteLink: 'Invitation link',
  inviteCopy: 'Copy link',
  inviteDone: 'Done',
  inviteNoCall: 'There is no call to invite someone to.',
  inviteFull: 'this call is full, nobody else can join it right now',
  /** How long a link stays valid, from its expiry time. */
  inviteValidity: (minutes: number): string => `valid for ${minutes === 1 ? '1 minute' : `${minutes} minutes`}, for one person`,
  inviteCopied: (validity: string): string => `Link copied — ${validity}. Send it to the person you want to add.`,
  inviteCopyByHand: (validity: string): string => `Copy this link and send it to the person you want to add — ${validity}.`,
  inviteFailed: (message: string): string => `Could not make a link: ${message}`,

  mediaDeniedTitle: (device: 'audio' | 'video' | 'both'): string =>
    device === 'video'
      ? 'Your browser blocked the camera'
      : device === 'audio'
        ? 'Your browser blocked the microphone'
        : 'Your browser blocked the camera and microphone',
  mediaDeniedSteps: [
    'Click the camera or lock icon at the left of the address bar.',
    'Set Camera and Microphone to "Allow" for this site.',
    'Start the call again.',
  ],
  mediaMissing: 'No camera or microphone was found on this device.',
  continueVoice: 'Continue with voice only',
  continueChat: 'Continue with chat only',
  checkDevices: 'Check camera and microphone',
  deviceCheck: 'Camera and microphone check',
  deviceUnplugged: (kind: 'camera' | 'microphone' | 'speaker', fellBack: boolean) =>
    fellBack ? `Your ${kind} was disconnected; the call now uses the default ${kind}.` : `Your ${kind} was disconnected and no other was found.`,
  deviceAdded: (label: string) => `New device: ${label}.`,
  useDevice: (label: string) => `Use ${label}`,
};

/** A time of day for a message, in the visitor's locale. */
export function formatTime(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? '' : date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}
