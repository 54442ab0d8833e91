/*
 * nldump: the socket benchmark's measure of what a native netlink path would cost.
 *
 * Dumps every TCP socket of the current network namespace through sock_diag
 * (NETLINK_SOCK_DIAG, SOCK_DIAG_BY_FAMILY, one dump for AF_INET and one for
 * AF_INET6, every state, no extensions: the request `ss -tan` sends) and walks the
 * binary inet_diag_msg records, counting them by state and folding in the local
 * port and the peer, which is what the agent's model needs from each row. No text
 * is formatted on either side. Prints one JSON line:
 *   {"records":N,"bytes":B,"recvs":R,"byState":{"01":n,...},"fold":F}
 *
 * Built by the benchmark when a C compiler is there (`cc -O2`); without one the
 * benchmark skips this measure and says so. Not part of the agent.
 *
 * The kernel facts: Documentation/networking (sock_diag), include/uapi/linux/
 * inet_diag.h (struct inet_diag_req_v2, struct inet_diag_msg); a dump answers in
 * skbs of at most 32 KiB (net/netlink/af_netlink.c caps max_recvmsg_len), so a
 * larger buffer does not mean fewer recv() calls.
 */
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static unsigned char buf[1 << 16];
static unsigned long long by_state[16];

static int dump(int fd, int family, unsigned long long *records, unsigned long long *bytes,
                unsigned long long *recvs, unsigned long long *fold) {
  struct {
    struct nlmsghdr nlh;
    struct inet_diag_req_v2 req;
  } msg;
  memset(&msg, 0, sizeof msg);
  msg.nlh.nlmsg_len = sizeof msg;
  msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  msg.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  msg.nlh.nlmsg_seq = (unsigned)family;
  msg.req.sdiag_family = (unsigned char)family;
  msg.req.sdiag_protocol = IPPROTO_TCP;
  msg.req.idiag_states = ~0u;
  struct sockaddr_nl nladdr = {.nl_family = AF_NETLINK};
  if (sendto(fd, &msg, sizeof msg, 0, (struct sockaddr *)&nladdr, sizeof nladdr) < 0) return -errno;
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    (*recvs)++;
    *bytes += (unsigned long long)n;
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)n); h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_type == NLMSG_DONE) return 0;
      if (h->nlmsg_type == NLMSG_ERROR) {
        struct nlmsgerr *e = NLMSG_DATA(h);
        return e->error;
      }
      struct inet_diag_msg *d = NLMSG_DATA(h);
      (*records)++;
      by_state[d->idiag_state & 15]++;
      *fold += ntohs(d->id.idiag_sport) ^ ntohs(d->id.idiag_dport) ^ d->id.idiag_dst[0] ^ d->id.idiag_dst[3];
    }
  }
}

int main(void) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd < 0) {
    perror("nldump: socket(AF_NETLINK, NETLINK_SOCK_DIAG)");
    return 1;
  }
  unsigned long long records = 0, bytes = 0, recvs = 0, fold = 0;
  int families[2] = {AF_INET, AF_INET6};
  for (int i = 0; i < 2; i++) {
    int r = dump(fd, families[i], &records, &bytes, &recvs, &fold);
    if (r < 0) {
      fprintf(stderr, "nldump: dump of family %d failed: %s\n", families[i], strerror(-r));
      return 1;
    }
  }
  close(fd);
  printf("{\"records\":%llu,\"bytes\":%llu,\"recvs\":%llu,\"byState\":{", records, bytes, recvs);
  int first = 1;
  for (int s = 0; s < 16; s++) {
    if (by_state[s] == 0) continue;
    printf("%s\"%02X\":%llu", first ? "" : ",", s, by_state[s]);
    first = 0;
  }
  printf("},\"fold\":%llu}\n", fold);
  return 0;
}
