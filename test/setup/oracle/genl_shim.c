/*
 * Test-only LD_PRELOAD library for running the real drbdsetup 9.22 as an oracle for command-line
 * parsing on a machine without the drbd kernel module.
 *
 * drbdsetup parses most of its command line only after it has found the "drbd" generic netlink
 * family. This library answers that one question in the kernel's place (family id, version 2,
 * an 8-byte family header, the "events" multicast group) over a socketpair. The first request
 * drbdsetup then sends to the drbd family means "the command line was accepted": the library
 * prints that request's attributes to stderr, one line each, and ends the process with exit
 * code 99 before anything else happens.
 *
 * Output lines:  @@request cmd=<genl cmd> minor=<u32> flags=<u32>
 *                @@attr <nest type> <attr type> <hex bytes>
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define FAKE_FAMILY_ID 0x7a
#define FAKE_EVENTS_GROUP 9

static int fake_fd = -1;
static int peer_fd = -1;

int socket(int domain, int type, int protocol) {
  static int (*real)(int, int, int);
  if (!real) real = dlsym(RTLD_NEXT, "socket");
  if (domain == AF_NETLINK && protocol == NETLINK_GENERIC && fake_fd < 0) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv)) return -1;
    fake_fd = sv[0];
    peer_fd = sv[1];
    return fake_fd;
  }
  return real(domain, type, protocol);
}

int setsockopt(int fd, int level, int name, const void *val, socklen_t len) {
  static int (*real)(int, int, int, const void *, socklen_t);
  if (!real) real = dlsym(RTLD_NEXT, "setsockopt");
  if (fd >= 0 && fd == fake_fd) return 0;
  return real(fd, level, name, val, len);
}

int bind(int fd, const struct sockaddr *addr, socklen_t len) {
  static int (*real)(int, const struct sockaddr *, socklen_t);
  if (!real) real = dlsym(RTLD_NEXT, "bind");
  if (fd >= 0 && fd == fake_fd) return 0;
  return real(fd, addr, len);
}

int getsockname(int fd, struct sockaddr *addr, socklen_t *len) {
  static int (*real)(int, struct sockaddr *, socklen_t *);
  if (!real) real = dlsym(RTLD_NEXT, "getsockname");
  if (fd >= 0 && fd == fake_fd) {
    struct sockaddr_nl nl = {.nl_family = AF_NETLINK, .nl_pid = (uint32_t)getpid()};
    memcpy(addr, &nl, *len < sizeof(nl) ? *len : sizeof(nl));
    *len = sizeof(nl);
    return 0;
  }
  return real(fd, addr, len);
}

static size_t put_attr(unsigned char *p, uint16_t type, const void *data, uint16_t len) {
  struct nlattr *a = (struct nlattr *)p;
  a->nla_type = type;
  a->nla_len = NLA_HDRLEN + len;
  memcpy(p + NLA_HDRLEN, data, len);
  return NLA_ALIGN(a->nla_len);
}

static void answer_family(const struct nlmsghdr *req) {
  unsigned char buf[512];
  memset(buf, 0, sizeof(buf));
  struct nlmsghdr *n = (struct nlmsghdr *)buf;
  struct genlmsghdr *g = (struct genlmsghdr *)(buf + NLMSG_HDRLEN);
  g->cmd = CTRL_CMD_NEWFAMILY;
  g->version = 2;
  size_t off = NLMSG_HDRLEN + GENL_HDRLEN;
  uint16_t id = FAKE_FAMILY_ID;
  uint32_t version = 2, hdrsize = 8, grp = FAKE_EVENTS_GROUP;
  off += put_attr(buf + off, CTRL_ATTR_FAMILY_ID, &id, 2);
  off += put_attr(buf + off, CTRL_ATTR_FAMILY_NAME, "drbd", 5);
  off += put_attr(buf + off, CTRL_ATTR_VERSION, &version, 4);
  off += put_attr(buf + off, CTRL_ATTR_HDRSIZE, &hdrsize, 4);
  /* CTRL_ATTR_MCAST_GROUPS { 1 { NAME "events", ID 9 } } */
  struct nlattr *groups = (struct nlattr *)(buf + off);
  groups->nla_type = CTRL_ATTR_MCAST_GROUPS;
  size_t goff = off + NLA_HDRLEN;
  struct nlattr *one = (struct nlattr *)(buf + goff);
  one->nla_type = 1;
  size_t ioff = goff + NLA_HDRLEN;
  ioff += put_attr(buf + ioff, CTRL_ATTR_MCAST_GRP_NAME, "events", 7);
  ioff += put_attr(buf + ioff, CTRL_ATTR_MCAST_GRP_ID, &grp, 4);
  one->nla_len = ioff - goff;
  groups->nla_len = ioff - off;
  off = ioff;
  n->nlmsg_len = off;
  n->nlmsg_type = GENL_ID_CTRL;
  n->nlmsg_seq = req->nlmsg_seq;
  n->nlmsg_pid = 0;
  send(peer_fd, buf, off, 0);
}

static void dump_request(const unsigned char *buf, size_t len) {
  const struct nlmsghdr *n = (const struct nlmsghdr *)buf;
  const struct genlmsghdr *g = (const struct genlmsghdr *)(buf + NLMSG_HDRLEN);
  const uint32_t *hdr = (const uint32_t *)(buf + NLMSG_HDRLEN + GENL_HDRLEN);
  if (len > n->nlmsg_len) len = n->nlmsg_len;
  fprintf(stderr, "@@request cmd=%u minor=%u flags=%u\n", g->cmd, hdr[0], hdr[1]);
  size_t off = NLMSG_HDRLEN + GENL_HDRLEN + 8;
  while (off + NLA_HDRLEN <= len) {
    const struct nlattr *top = (const struct nlattr *)(buf + off);
    if (top->nla_len < NLA_HDRLEN) break;
    size_t end = off + top->nla_len, ioff = off + NLA_HDRLEN;
    while (ioff + NLA_HDRLEN <= end) {
      const struct nlattr *a = (const struct nlattr *)(buf + ioff);
      if (a->nla_len < NLA_HDRLEN) break;
      fprintf(stderr, "@@attr %u %u ", top->nla_type & NLA_TYPE_MASK,
              a->nla_type & NLA_TYPE_MASK);
      for (size_t i = NLA_HDRLEN; i < a->nla_len; i++) fprintf(stderr, "%02x", buf[ioff + i]);
      fputc('\n', stderr);
      ioff += NLA_ALIGN(a->nla_len);
    }
    off += NLA_ALIGN(top->nla_len);
  }
  fflush(stderr);
  fflush(stdout);
  _exit(99);
}

ssize_t write(int fd, const void *buf, size_t len) {
  static ssize_t (*real)(int, const void *, size_t);
  if (!real) real = dlsym(RTLD_NEXT, "write");
  if (fd >= 0 && fd == fake_fd && len >= NLMSG_HDRLEN + GENL_HDRLEN) {
    const struct nlmsghdr *n = buf;
    const struct genlmsghdr *g = (const struct genlmsghdr *)((const char *)buf + NLMSG_HDRLEN);
    if (n->nlmsg_type == GENL_ID_CTRL && g->cmd == CTRL_CMD_GETFAMILY) {
      answer_family(n);
      return len;
    }
    if (n->nlmsg_type == FAKE_FAMILY_ID) dump_request(buf, len);
    errno = EIO;
    return -1;
  }
  return real(fd, buf, len);
}

ssize_t recvmsg(int fd, struct msghdr *msg, int flags) {
  static ssize_t (*real)(int, struct msghdr *, int);
  if (!real) real = dlsym(RTLD_NEXT, "recvmsg");
  if (fd >= 0 && fd == fake_fd) {
    void *name = msg->msg_name;
    socklen_t namelen = msg->msg_namelen;
    msg->msg_name = NULL;
    msg->msg_namelen = 0;
    ssize_t r = real(fd, msg, flags);
    msg->msg_name = name;
    if (name && namelen >= sizeof(struct sockaddr_nl)) {
      struct sockaddr_nl nl = {.nl_family = AF_NETLINK, .nl_pid = 0};
      memcpy(name, &nl, sizeof(nl));
      msg->msg_namelen = sizeof(nl);
    }
    return r;
  }
  return real(fd, msg, flags);
}
