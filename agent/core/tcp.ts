/**
 * TCP facts several domains depend on, defined once. Pure.
 */

/**
 * How long a TIME_WAIT socket holds its 4-tuple: TCP_TIMEWAIT_LEN in
 * include/net/tcp.h, (60 * HZ), fixed at build time and not tunable
 * (tcp_fin_timeout bounds orphaned FIN_WAIT2 only).
 */
export const TIME_WAIT_LEN_MS = 60_000;
export const TIME_WAIT_SECONDS = TIME_WAIT_LEN_MS / 1000;
