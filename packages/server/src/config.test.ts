import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, defaultAllowedOrigins, loadConfig } from './config.ts';

describe('loadConfig', () => {
  it('reads DATABASE_URL and refuses a malformed one without repeating its password', () => {
    const url = 'postgres://parley:pw@db.internal:5432/parley';
    assert.equal(loadConfig({ DATABASE_URL: url }).databaseUrl, url);
    assert.equal(loadConfig({ DATABASE_URL: 'postgresql://db/parley' }).databaseUrl, 'postgresql://db/parley');
    const cases: Array<[string, RegExp]> = [
      ['postgres://parley:hunter2@[db:5432/parley', /DATABASE_URL: not a URL; expected postgres:\/\/user:password@host:5432\/database/],
      ['mysql://parley:hunter2@db/parley', /DATABASE_URL: the scheme "mysql" is not postgres/],
      ['postgres://parley:hunter2@db:5432', /DATABASE_URL: no database name after the host/],
      ['postgres://parley:hunter2@db:99999/parley', /DATABASE_URL: not a URL/],
    ];
    for (const [value, expected] of cases) {
      assert.throws(
        () => loadConfig({ DATABASE_URL: value }),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError);
          assert.match(err.message, expected);
          assert.doesNotMatch(err.message, /hunter2/);
          return true;
        },
        value,
      );
    }
  });

  it('reads REDIS_URL and NODE_ID for many nodes, and refuses what cannot work', () => {
    const db = 'postgres://db/parley';
    const config = loadConfig({ DATABASE_URL: db, REDIS_URL: 'redis://:s3cret@cache:6379/2', NODE_ID: 'web-1' });
    assert.equal(config.redisUrl, 'redis://:s3cret@cache:6379/2');
    assert.equal(config.nodeId, 'web-1');
    assert.deepEqual(config.cluster, { heartbeatMs: 2000, deadAfterMs: 6000 });
    assert.match(loadConfig({}).nodeId, /^[A-Za-z0-9._-]+-\d+-[0-9a-f]{4}$/, 'a node id is made up when NODE_ID is unset');
    assert.notEqual(loadConfig({}).nodeId, loadConfig({}).nodeId, 'two made-up ids differ');
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ REDIS_URL: 'redis://cache:6379' }, /REDIS_URL is set but DATABASE_URL is not/],
      [{ DATABASE_URL: db, REDIS_URL: 'http://:s3cret@cache' }, /REDIS_URL: the scheme "http" is not redis/],
      [{ DATABASE_URL: db, REDIS_URL: 'redis://:s3cret@[cache' }, /REDIS_URL: not a URL/],
      [{ NODE_ID: 'web 1' }, /NODE_ID="web 1": expected 1 to 64 letters/],
      [{ NODE_HEARTBEAT_MS: '2000', NODE_DEAD_MS: '3000' }, /NODE_DEAD_MS: expected at least twice NODE_HEARTBEAT_MS/],
    ];
    for (const [env, expected] of cases) {
      assert.throws(
        () => loadConfig(env),
        (err: unknown) => err instanceof ConfigError && expected.test(err.message) && !/s3cret/.test(err.message),
        JSON.stringify(env),
      );
    }
  });

  it('has working defaults for the embedded setup', () => {
    const config = loadConfig({}, '/srv/parley');
    assert.equal(config.port, 3000);
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.dataDir, '/srv/parley/data');
    assert.equal(config.databaseUrl, null, 'SQLite in DATA_DIR unless DATABASE_URL is set');
    assert.equal(config.redisUrl, null, 'one node unless REDIS_URL is set');
    assert.equal(config.publicUrl, 'http://127.0.0.1:3000');
    assert.equal(config.allowedOrigins, null);
    assert.equal(config.demoAgent, true);
    assert.equal(config.turn, null);
  });

  it('reads every variable', () => {
    const config = loadConfig({
      PORT: '8080',
      HOST: '0.0.0.0',
      DATA_DIR: '/var/lib/parley',
      PUBLIC_URL: 'https://chat.example.com',
      ALLOWED_ORIGINS: 'https://shop.example.com, https://www.example.com',
      TOKEN_SECRET: 'x'.repeat(40),
      LOG_LEVEL: 'warn',
      DEMO_AGENT: 'false',
      ICE_SERVERS: '[{"urls":"stun:stun.example.com:3478"}]',
      TURN_SECRET: 's3cret',
      TURN_URLS: 'turn:turn.example.com:3478?transport=udp,turns:turn.example.com:5349',
    });
    assert.equal(config.publicUrl, 'https://chat.example.com');
    assert.deepEqual(config.allowedOrigins, ['https://shop.example.com', 'https://www.example.com']);
    assert.equal(config.logLevel, 'warn');
    assert.equal(config.demoAgent, false);
    assert.deepEqual(config.iceServers, [{ urls: 'stun:stun.example.com:3478' }]);
    assert.equal(config.turn?.urls.length, 2);
  });

  it('ICE_TRANSPORT_POLICY: all by default, relay only with a TURN server, anything else refused', () => {
    assert.equal(loadConfig({}).iceTransportPolicy, 'all');
    assert.equal(loadConfig({ ICE_TRANSPORT_POLICY: 'relay', TURN_SECRET: 's3cret', TURN_URLS: 'turn:turn.example.com:3478' }).iceTransportPolicy, 'relay');
    assert.equal(loadConfig({ ICE_TRANSPORT_POLICY: 'relay', ICE_SERVERS: '[{"urls":["turns:turn.example.com:5349"],"username":"u","credential":"c"}]' }).iceTransportPolicy, 'relay');
    assert.throws(() => loadConfig({ ICE_TRANSPORT_POLICY: 'relay' }), /ICE_TRANSPORT_POLICY=relay .*none is configured/);
    assert.throws(() => loadConfig({ ICE_TRANSPORT_POLICY: 'relay', ICE_SERVERS: '[{"urls":"stun:stun.example.com:3478"}]' }), /none is configured/);
    assert.throws(() => loadConfig({ ICE_TRANSPORT_POLICY: 'turn' }), /ICE_TRANSPORT_POLICY="turn": expected all or relay/);
  });

  it('names every bad variable and what it expects, all at once', () => {
    try {
      loadConfig({
        PORT: '99999',
        PUBLIC_URL: 'ftp://x',
        ALLOWED_ORIGINS: 'https://ok.example, not-an-origin',
        TOKEN_SECRET: 'short',
        LOG_LEVEL: 'loud',
        DEMO_AGENT: 'maybe',
        ICE_SERVERS: '{',
        TURN_SECRET: 'x',
      });
      assert.fail('expected ConfigError');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      const text = err.problems.join('\n');
      for (const name of ['PORT', 'PUBLIC_URL', 'ALLOWED_ORIGINS', 'TOKEN_SECRET', 'LOG_LEVEL', 'DEMO_AGENT', 'ICE_SERVERS', 'TURN_SECRET']) {
        assert.match(text, new RegExp(name), `mentions ${name}`);
      }
      assert.match(text, /from 0 to 65535/);
    }
  });

  it('group calls: peer-to-peer by default, Janus when JANUS_URL is set, each value checked', () => {
    const embedded = loadConfig({}, '/srv/parley');
    assert.equal(embedded.janus, null);
    assert.equal(embedded.meshMaxParticipants, 4);
    assert.equal(embedded.guestInviteMinutes, 15);
    const sfu = loadConfig({ JANUS_URL: 'ws://127.0.0.1:8188', JANUS_PUBLIC_URL: 'wss://janus.example.com', JANUS_MAX_PARTICIPANTS: '20', GUEST_INVITE_MINUTES: '5' });
    assert.deepEqual(sfu.janus, { instances: [{ url: 'ws://127.0.0.1:8188', publicUrl: 'wss://janus.example.com' }], apiSecret: null, maxParticipants: 20 });
    assert.equal(sfu.guestInviteMinutes, 5);
    assert.equal(loadConfig({ JANUS_URL: 'ws://j:8188' }).janus?.instances[0]?.publicUrl, 'ws://j:8188', 'browsers use JANUS_URL unless told otherwise');
    try {
      loadConfig({ JANUS_URL: 'http://janus', JANUS_PUBLIC_URL: 'nope', MESH_MAX_PARTICIPANTS: '9', GUEST_INVITE_MINUTES: '0' });
      assert.fail('expected ConfigError');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      const text = err.problems.join('\n');
      for (const name of ['JANUS_URL', 'JANUS_PUBLIC_URL', 'MESH_MAX_PARTICIPANTS', 'GUEST_INVITE_MINUTES']) assert.match(text, new RegExp(name));
    }
    assert.throws(() => loadConfig({ JANUS_PUBLIC_URL: 'ws://j:8188' }), /JANUS_PUBLIC_URL is set but JANUS_URL is not/);
  });

  it('allows the localhost twin of a loopback public URL by default', () => {
    assert.deepEqual(defaultAllowedOrigins('http://127.0.0.1:3000').sort(), ['http://127.0.0.1:3000', 'http://localhost:3000']);
    assert.deepEqual(defaultAllowedOrigins('https://chat.example.com'), ['https://chat.example.com']);
  });

  it('a Janus pool: JANUS_URL lists the instances, JANUS_PUBLIC_URL the same ones in order; mismatches, duplicates and bad URLs refused', () => {
    const pool = loadConfig({ JANUS_URL: 'ws://10.0.0.1:8188, ws://10.0.0.2:8188,', JANUS_PUBLIC_URL: 'wss://janus-a.example.com,wss://janus-b.example.com' });
    assert.deepEqual(pool.janus?.instances, [
      { url: 'ws://10.0.0.1:8188', publicUrl: 'wss://janus-a.example.com' },
      { url: 'ws://10.0.0.2:8188', publicUrl: 'wss://janus-b.example.com' },
    ]);
    assert.deepEqual(
      loadConfig({ JANUS_URL: 'ws://a:8188,wss://b:8989' }).janus?.instances,
      [
        { url: 'ws://a:8188', publicUrl: 'ws://a:8188' },
        { url: 'wss://b:8989', publicUrl: 'wss://b:8989' },
      ],
      'browsers use each JANUS_URL unless told otherwise',
    );
    const problems = (env: Record<string, string>): string => {
      try {
        loadConfig(env);
      } catch (err) {
        assert.ok(err instanceof ConfigError);
        return err.problems.join('\n');
      }
      return assert.fail(`expected ConfigError for ${JSON.stringify(env)}`);
    };
    assert.match(problems({ JANUS_URL: 'ws://a:8188,ws://b:8188', JANUS_PUBLIC_URL: 'wss://a.example.com' }), /JANUS_PUBLIC_URL names 1 URL\(s\) but JANUS_URL 2/);
    assert.match(problems({ JANUS_URL: 'ws://a:8188', JANUS_PUBLIC_URL: 'wss://a.example.com,wss://b.example.com' }), /JANUS_PUBLIC_URL names 2 URL\(s\) but JANUS_URL 1/);
    assert.match(problems({ JANUS_URL: 'ws://a:8188,ws://A:8188/' }), /JANUS_URL: "ws:\/\/A:8188\/" is listed twice/);
    assert.match(problems({ JANUS_URL: 'ws://a:8188,ws://b:8188', JANUS_PUBLIC_URL: 'wss://j.example.com,wss://j.example.com' }), /JANUS_PUBLIC_URL: "wss:\/\/j.example.com" is listed twice/);
    const bad = problems({ JANUS_URL: 'ws://a:8188,http://b:8188,ws://', JANUS_PUBLIC_URL: 'wss://a.example.com,nope,wss://c.example.com' });
    assert.match(bad, /JANUS_URL: "http:\/\/b:8188" is not a ws:\/\/ or wss:\/\/ URL/);
    assert.match(bad, /JANUS_URL: "ws:\/\/" is not a ws:\/\/ or wss:\/\/ URL/);
    assert.match(bad, /JANUS_PUBLIC_URL: "nope" is not a ws:\/\/ or wss:\/\/ URL/);
    assert.doesNotMatch(bad, /ws:\/\/a:8188"/, 'the good entries are not named');
    assert.match(problems({ JANUS_URL: ' , ' }), /JANUS_URL: expected at least one ws:\/\/ or wss:\/\/ URL/);
  });
});
