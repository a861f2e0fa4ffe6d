import { useState } from 'preact/hooks';
import type { WorkspaceModel } from '../model/WorkspaceModel.ts';
import { strings } from '../strings.ts';

/** Email and password form; shows why the last attempt failed. */
export function SignIn({ model }: { model: WorkspaceModel }) {
  const s = strings.signIn;
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const phase = model.phase;
  const busy = phase.kind === 'connecting';
  const error = phase.kind === 'signedOut' ? phase.error : null;
  const submit = (event: Event) => {
    event.preventDefault();
    if (!busy) void model.signIn(email.trim(), password);
  };
  return (
    <main class="sign-in">
      <form class="sign-in-card" onSubmit={submit} aria-labelledby="sign-in-heading" aria-busy={busy}>
        <h1 id="sign-in-heading">{s.heading}</h1>
        <p class="muted">{s.intro}</p>
        <label for="sign-in-email">{s.email}</label>
        <input
          id="sign-in-email"
          type="email"
          autocomplete="username"
          required
          value={email}
          onInput={(e) => setEmail(e.currentTarget.value)}
        />
        <label for="sign-in-password">{s.password}</label>
        <input
          id="sign-in-password"
          type="password"
          autocomplete="current-password"
          required
          value={password}
          onInput={(e) => setPassword(e.currentTarget.value)}
        />
        {error ? (
          <p class="error" role="alert">
            {error}
          </p>
        ) : null}
        {busy ? <p class="muted" role="status">{phase.resuming ? s.resuming : s.working}</p> : null}
        <button type="submit" class="primary" disabled={busy}>
          {s.submit}
        </button>
      </form>
    </main>
  );
}
