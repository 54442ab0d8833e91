/**
 * The `nginx -t` judge of the nginx system tests tells nginx's verdict on a
 * configuration from a run that could not judge it. The outputs are nginx
 * 1.22's and 1.30's own (the same for both), captured as uid 65534.
 */
import { describe, expect, it } from 'vitest';
import { nginxVerdict } from '../support/nginxJudge.js';

const OK = 'nginx: the configuration file /tmp/t/judge.conf syntax is ok\nnginx: configuration file /tmp/t/judge.conf test is successful\n';
const FAILED = 'nginx: configuration file /tmp/t/judge.conf test failed\n';

describe('nginx -t verdicts', () => {
  it.each<[string, string, number | null, string, string | null]>([
    ['a successful test', OK, 0, 'accepted', null],
    [
      'the "user" directive as non-root is only a warning',
      `nginx: [warn] the "user" directive makes sense only if the master process runs with super-user privileges, ignored in /tmp/t/judge.conf:1\n${OK}`,
      0,
      'accepted',
      null,
    ],
    [
      'a syntax error',
      `nginx: [emerg] unexpected "x" in /tmp/t/judge.conf:3\n${FAILED}`,
      1,
      'refused',
      '[emerg] unexpected "x" in /tmp/t/judge.conf:3',
    ],
    [
      'an invalid value',
      `nginx: [emerg] "keepalive_time" directive invalid value in /tmp/t/judge.conf:3\n${FAILED}`,
      1,
      'refused',
      '[emerg] "keepalive_time" directive invalid value in /tmp/t/judge.conf:3',
    ],
    [
      'a missing include (2: No such file or directory) is about the configuration',
      `nginx: [emerg] open() "/tmp/t/does-not-exist.conf" failed (2: No such file or directory) in /tmp/t/judge.conf:3\n${FAILED}`,
      1,
      'refused',
      '[emerg] open() "/tmp/t/does-not-exist.conf" failed (2: No such file or directory) in /tmp/t/judge.conf:3',
    ],
    [
      'an unwritable error log is an [alert]: the [emerg] after it decides',
      `nginx: [alert] could not open error log file: open() "/var/log/nginx/error.log" failed (13: Permission denied)\n2026/12/06 12:33:37 [emerg] 22215#22215: unknown directive "foo" in /tmp/t/judge.conf:2\n${FAILED}`,
      1,
      'refused',
      '2026/12/06 12:33:37 [emerg] 22215#22215: unknown directive "foo" in /tmp/t/judge.conf:2',
    ],
    [
      'the default access log as non-root',
      `nginx: the configuration file /tmp/t/judge.conf syntax is ok\nnginx: [emerg] open() "/var/log/nginx/access.log" failed (13: Permission denied)\n${FAILED}`,
      1,
      'no-verdict',
      'nginx -t could not run here, so it judged nothing: [emerg] open() "/var/log/nginx/access.log" failed (13: Permission denied)',
    ],
    [
      'a pid file in a directory of another user',
      `nginx: the configuration file /tmp/t/judge.conf syntax is ok\nnginx: [emerg] open() "/tmp/t/t.pid" failed (13: Permission denied)\n${FAILED}`,
      1,
      'no-verdict',
      'nginx -t could not run here, so it judged nothing: [emerg] open() "/tmp/t/t.pid" failed (13: Permission denied)',
    ],
    [
      'a temporary directory it may not create',
      `nginx: the configuration file /tmp/t/judge.conf syntax is ok\nnginx: [emerg] mkdir() "/var/lib/nginx/body" failed (13: Permission denied)\n${FAILED}`,
      1,
      'no-verdict',
      'nginx -t could not run here, so it judged nothing: [emerg] mkdir() "/var/lib/nginx/body" failed (13: Permission denied)',
    ],
    ['killed by the timeout', '', null, 'no-verdict', 'nginx -t gave no verdict (exit status null): (no output)'],
    ['failed with no [emerg]', FAILED, 1, 'no-verdict', `nginx -t gave no verdict (exit status 1): ${FAILED.trim()}`],
  ])('%s', (_name, output, status, kind, reason) => {
    const v = nginxVerdict(output, status);
    expect(v.kind).toBe(kind);
    expect(v.kind === 'accepted' ? null : v.reason).toBe(reason);
  });
});
