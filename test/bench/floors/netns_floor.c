/*
 * netns_floor: the bare syscalls behind test/bench/netns.bench.ts, the same sequence
 * @stratum/netns runs (so the ratio shows what TypeScript, N-API and libuv cost on top):
 *
 *   netns_floor up|move PREFIX N    for i in 0..N-1:
 *       netns PREFIXi: mount(MS_SHARED) of /run/netns, open(O_CREAT|O_EXCL) of the name, then a
 *         thread: unshare(CLONE_NEWNET), open(/proc/thread-self/ns/net), mount(MS_BIND)
 *       up:   RTM_NEWLINK veth stbvi / peer stbpi created in the netns (IFLA_NET_NS_FD in the peer)
 *       move: RTM_NEWLINK veth stbvi / peer stbpi; RTM_NEWLINK stbpi IFLA_NET_NS_FD (a move);
 *       RTM_GETLINK stbvi + RTM_NEWADDR 10.123.i.1/24 brd; RTM_NEWLINK stbvi up;
 *       a thread: setns(netns), socket(NETLINK_ROUTE) (+ the same sockopts);
 *       RTM_GETLINK stbpi + RTM_NEWADDR 10.123.i.2/24 brd; RTM_NEWLINK stbpi up (inside)
 *   netns_floor down PREFIX N  for i in 0..N-1: RTM_DELLINK stbvi; umount2(MNT_DETACH) + unlink
 *
 * Every request waits for its ACK, as ours does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_GET_STRICT_CHK
#define NETLINK_GET_STRICT_CHK 12
#endif

static unsigned seq = 1;

static void die(const char *what) {
  fprintf(stderr, "netns_floor: %s: %s\n", what, strerror(errno));
  exit(1);
}

static int nl_open(void) {
  int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (s < 0) die("socket");
  int one = 1;
  setsockopt(s, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  setsockopt(s, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof one);
  setsockopt(s, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
  if (bind(s, (struct sockaddr *)&sa, sizeof sa) < 0) die("bind");
  return s;
}

struct req {
  union {
    struct nlmsghdr h;
    char buf[1024];
  };
};

static struct rtattr *attr(struct nlmsghdr *h, int type, const void *data, int len) {
  struct rtattr *a = (struct rtattr *)((char *)h + NLMSG_ALIGN(h->nlmsg_len));
  a->rta_type = type;
  a->rta_len = RTA_LENGTH(len);
  if (len) memcpy(RTA_DATA(a), data, len);
  h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + RTA_ALIGN(a->rta_len);
  return a;
}
static void nest_end(struct nlmsghdr *h, struct rtattr *a) { a->rta_len = (char *)h + h->nlmsg_len - (char *)a; }

/* Sends one request and reads until its ACK/answer; returns the ifindex of an RTM_NEWLINK answer. */
static int talk(int s, struct nlmsghdr *h) {
  h->nlmsg_seq = ++seq;
  h->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
  struct sockaddr_nl k = {.nl_family = AF_NETLINK};
  if (sendto(s, h, h->nlmsg_len, 0, (struct sockaddr *)&k, sizeof k) < 0) die("sendto");
  char buf[16384];
  int index = 0;
  for (;;) {
    ssize_t n = recv(s, buf, sizeof buf, 0);
    if (n < 0) die("recv");
    for (struct nlmsghdr *m = (struct nlmsghdr *)buf; NLMSG_OK(m, n); m = NLMSG_NEXT(m, n)) {
      if (m->nlmsg_seq != h->nlmsg_seq) continue;
      if (m->nlmsg_type == RTM_NEWLINK) index = ((struct ifinfomsg *)NLMSG_DATA(m))->ifi_index;
      if (m->nlmsg_type == NLMSG_ERROR) {
        int err = ((struct nlmsgerr *)NLMSG_DATA(m))->error;
        if (err) {
          errno = -err;
          die("netlink request");
        }
        return index;
      }
    }
  }
}

static void link_msg(struct req *r, int type, int flags) {
  memset(r, 0, sizeof *r);
  r->h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
  r->h.nlmsg_type = type;
  r->h.nlmsg_flags = flags;
}

static int get_index(int s, const char *name) {
  struct req r;
  link_msg(&r, RTM_GETLINK, 0);
  attr(&r.h, IFLA_IFNAME, name, strlen(name) + 1);
  return talk(s, &r.h);
}

static void add_veth(int s, const char *name, const char *peer, int peer_nsfd) {
  struct req r;
  link_msg(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  attr(&r.h, IFLA_IFNAME, name, strlen(name) + 1);
  struct rtattr *info = attr(&r.h, IFLA_LINKINFO, NULL, 0);
  attr(&r.h, IFLA_INFO_KIND, "veth", 4);
  struct rtattr *data = attr(&r.h, IFLA_INFO_DATA, NULL, 0);
  struct rtattr *p = attr(&r.h, VETH_INFO_PEER, NULL, 0);
  r.h.nlmsg_len += sizeof(struct ifinfomsg);
  attr(&r.h, IFLA_IFNAME, peer, strlen(peer) + 1);
  if (peer_nsfd >= 0) {
    unsigned fd = peer_nsfd;
    attr(&r.h, IFLA_NET_NS_FD, &fd, 4);
  }
  nest_end(&r.h, p);
  nest_end(&r.h, data);
  nest_end(&r.h, info);
  talk(s, &r.h);
}

static void set_netns(int s, const char *name, int nsfd) {
  struct req r;
  link_msg(&r, RTM_NEWLINK, 0);
  attr(&r.h, IFLA_IFNAME, name, strlen(name) + 1);
  unsigned fd = nsfd;
  attr(&r.h, IFLA_NET_NS_FD, &fd, 4);
  talk(s, &r.h);
}

static void set_up(int s, const char *name) {
  struct req r;
  link_msg(&r, RTM_NEWLINK, 0);
  struct ifinfomsg *ifi = NLMSG_DATA(&r.h);
  ifi->ifi_flags = IFF_UP;
  ifi->ifi_change = IFF_UP;
  attr(&r.h, IFLA_IFNAME, name, strlen(name) + 1);
  talk(s, &r.h);
}

static void add_addr(int s, const char *name, unsigned char a, unsigned char b, unsigned char c, unsigned char d) {
  int index = get_index(s, name);
  struct req r;
  memset(&r, 0, sizeof r);
  r.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg));
  r.h.nlmsg_type = RTM_NEWADDR;
  r.h.nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
  struct ifaddrmsg *ifa = NLMSG_DATA(&r.h);
  ifa->ifa_family = AF_INET;
  ifa->ifa_prefixlen = 24;
  ifa->ifa_index = index;
  unsigned char ip[4] = {a, b, c, d}, brd[4] = {a, b, c, 255};
  attr(&r.h, IFA_LOCAL, ip, 4);
  attr(&r.h, IFA_ADDRESS, ip, 4);
  attr(&r.h, IFA_BROADCAST, brd, 4);
  talk(s, &r.h);
}

static void del_link(int s, const char *name) {
  struct req r;
  link_msg(&r, RTM_DELLINK, 0);
  attr(&r.h, IFLA_IFNAME, name, strlen(name) + 1);
  talk(s, &r.h);
}

struct ns_job {
  const char *bind_to;
  int fd;
  int sock;
};

static void *unshare_thread(void *p) {
  struct ns_job *j = p;
  if (unshare(CLONE_NEWNET) < 0) die("unshare");
  j->fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (j->fd < 0) die("open ns");
  if (mount("/proc/thread-self/ns/net", j->bind_to, "none", MS_BIND, NULL) < 0) die("mount bind");
  return NULL;
}

static void *socket_thread(void *p) {
  struct ns_job *j = p;
  if (setns(j->fd, CLONE_NEWNET) < 0) die("setns");
  j->sock = nl_open();
  return NULL;
}

static int netns_add(const char *path) {
  mkdir("/run/netns", 0755);
  if (mount("", "/run/netns", "none", MS_SHARED | MS_REC, NULL) < 0) die("make-shared");
  int f = open(path, O_RDONLY | O_CREAT | O_EXCL, 0);
  if (f < 0) die(path);
  close(f);
  struct ns_job j = {.bind_to = path};
  pthread_t t;
  pthread_create(&t, NULL, unshare_thread, &j);
  pthread_join(t, NULL);
  return j.fd;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s up|move|down PREFIX N\n", argv[0]);
    return 2;
  }
  int n = atoi(argv[3]);
  int s = nl_open();
  char path[256], v[32], p[32];
  for (int i = 0; i < n; i++) {
    snprintf(path, sizeof path, "/run/netns/%s%d", argv[2], i);
    snprintf(v, sizeof v, "stbv%d", i);
    snprintf(p, sizeof p, "stbp%d", i);
    if (strcmp(argv[1], "up") == 0 || strcmp(argv[1], "move") == 0) {
      int nsfd = netns_add(path);
      if (strcmp(argv[1], "up") == 0) {
        add_veth(s, v, p, nsfd);
      } else {
        add_veth(s, v, p, -1);
        set_netns(s, p, nsfd);
      }
      add_addr(s, v, 10, 123, i, 1);
      set_up(s, v);
      struct ns_job j = {.fd = nsfd};
      pthread_t t;
      pthread_create(&t, NULL, socket_thread, &j);
      pthread_join(t, NULL);
      add_addr(j.sock, p, 10, 123, i, 2);
      set_up(j.sock, p);
      close(j.sock);
      close(nsfd);
    } else {
      del_link(s, v);
      if (umount2(path, MNT_DETACH) < 0) die("umount2");
      if (unlink(path) < 0) die("unlink");
    }
  }
  return 0;
}
