/*
 * Optional helper for the relay's QUIC socket path: hand a connection's packets to the kernel in
 * one sendmmsg(2) call, with runs of equal-size packets as one UDP GSO send (UDP_SEGMENT), and
 * read queued datagrams with one recvmmsg(2), on the file descriptor of node:dgram's own socket.
 * Built at install time by native/build.mjs; without it the relay sends and receives each packet
 * through node:dgram.
 *
 *   sendBatch(fd, buf, lengths, count, addr, gso, slot) -> packets sent (>= 0) or -errno
 *     buf      packet i at i * slot (slot > 0), or packets at consecutive offsets (slot 0 or
 *              absent); lengths[i] is packet i's size
 *     addr     a sockaddr from makeAddr()
 *     gso      1 to use UDP_SEGMENT for runs of equal-size packets, 0 for plain sendmmsg
 *   makeAddr(host, port, v6socket) -> Buffer (sockaddr_in or sockaddr_in6), or throws
 *   recvBatch(fd, buf, slot, count, lengths, addrs) -> datagrams read (>= 0) or -errno
 *     buf      datagram i lands at i * slot, at most slot bytes
 *     lengths  lengths[i] = datagram i's size, 0 when it was longer than slot (truncated: drop it)
 *     addrs    the sender of datagram i as a raw sockaddr (in or in6) at i * ADDR_SLOT (28) bytes
 *   Non-blocking: -EAGAIN when nothing is queued.
 *   version: 2 (sendBatch takes slot, recvBatch exists); a helper built earlier has none.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>
#include <node_api.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

#define MAX_MSGS 64
#define MAX_SEGS 64
#define MAX_GSO_BYTES 65000
#define MAX_PKTS 256

static napi_value fail(napi_env env, const char *msg) {
  napi_throw_error(env, NULL, msg);
  return NULL;
}

static napi_value send_batch(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 6) return fail(env, "sendBatch: 6 or 7 arguments");
  int32_t fd, count, gso, slot = 0;
  void *buf, *addr;
  size_t buflen, addrlen, lenbytes;
  napi_typedarray_type type;
  void *lens_data;
  napi_value ab;
  size_t lens_off;
  if (napi_get_value_int32(env, argv[0], &fd) != napi_ok) return fail(env, "fd");
  if (napi_get_buffer_info(env, argv[1], &buf, &buflen) != napi_ok) return fail(env, "buf");
  if (napi_get_typedarray_info(env, argv[2], &type, &lenbytes, &lens_data, &ab, &lens_off) != napi_ok || type != napi_uint32_array) return fail(env, "lengths");
  if (napi_get_value_int32(env, argv[3], &count) != napi_ok) return fail(env, "count");
  if (napi_get_buffer_info(env, argv[4], &addr, &addrlen) != napi_ok) return fail(env, "addr");
  if (napi_get_value_int32(env, argv[5], &gso) != napi_ok) return fail(env, "gso");
  if (argc >= 7 && napi_get_value_int32(env, argv[6], &slot) != napi_ok) return fail(env, "slot");
  const uint32_t *lens = (const uint32_t *)lens_data;
  if (count < 0 || (size_t)count > lenbytes) return fail(env, "count exceeds lengths");
  /* With slots every packet is its own iovec (a GSO send gathers them), one per packet. */
  if (slot < 0 || (slot > 0 && count > MAX_PKTS)) return fail(env, "slot");
  struct iovec piovs[MAX_PKTS];
  int pkt = 0;

  struct mmsghdr msgs[MAX_MSGS];
  struct iovec iovs[MAX_MSGS];
  union {
    char buf[CMSG_SPACE(sizeof(uint16_t))];
    struct cmsghdr align;
  } ctrl[MAX_MSGS];
  int firsts[MAX_MSGS + 1];
  int sent_total = 0;
  size_t off = 0;
  int i = 0;
  while (i < count) {
    int m = 0;
    size_t batch_start_off = off;
    (void)batch_start_off;
    while (i < count && m < MAX_MSGS) {
      uint32_t seg = lens[i];
      int n = 1;
      size_t bytes = seg;
      if (gso) {
        /* A GSO run: equal sizes, the last one may be shorter. */
        while (i + n < count && n < MAX_SEGS && bytes + lens[i + n] <= MAX_GSO_BYTES && lens[i + n] <= seg) {
          bytes += lens[i + n];
          n++;
          if (lens[i + n - 1] < seg) break;
        }
      }
      memset(&msgs[m], 0, sizeof(msgs[m]));
      msgs[m].msg_hdr.msg_name = addr;
      msgs[m].msg_hdr.msg_namelen = (socklen_t)addrlen;
      if (slot > 0) {
        for (int k = 0; k < n; k++) {
          size_t at = (size_t)(i + k) * (size_t)slot;
          if (lens[i + k] > (uint32_t)slot || at + lens[i + k] > buflen) return fail(env, "lengths exceed slots");
          piovs[pkt + k].iov_base = (char *)buf + at;
          piovs[pkt + k].iov_len = lens[i + k];
        }
        msgs[m].msg_hdr.msg_iov = &piovs[pkt];
        msgs[m].msg_hdr.msg_iovlen = (size_t)n;
        pkt += n;
      } else {
        if (off + bytes > buflen) return fail(env, "lengths exceed buf");
        iovs[m].iov_base = (char *)buf + off;
        iovs[m].iov_len = bytes;
        msgs[m].msg_hdr.msg_iov = &iovs[m];
        msgs[m].msg_hdr.msg_iovlen = 1;
      }
      if (n > 1) {
        msgs[m].msg_hdr.msg_control = ctrl[m].buf;
        msgs[m].msg_hdr.msg_controllen = sizeof(ctrl[m].buf);
        struct cmsghdr *cm = CMSG_FIRSTHDR(&msgs[m].msg_hdr);
        cm->cmsg_level = SOL_UDP;
        cm->cmsg_type = UDP_SEGMENT;
        cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
        uint16_t s16 = (uint16_t)seg;
        memcpy(CMSG_DATA(cm), &s16, sizeof(s16));
      }
      firsts[m] = n;
      off += bytes;
      i += n;
      m++;
    }
    int done = 0;
    while (done < m) {
      int r = sendmmsg(fd, msgs + done, (unsigned)(m - done), MSG_DONTWAIT);
      if (r < 0) {
        if (errno == EINTR) continue;
        int e = errno;
        if (sent_total > 0) return ({ napi_value v; napi_create_int32(env, sent_total, &v); v; });
        napi_value v;
        napi_create_int32(env, -e, &v);
        return v;
      }
      for (int k = done; k < done + r; k++) sent_total += firsts[k];
      done += r;
      if (r == 0) break;
    }
    if (done < m) break;
  }
  napi_value v;
  napi_create_int32(env, sent_total, &v);
  return v;
}

static napi_value make_addr(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3) return fail(env, "makeAddr: 3 arguments");
  char host[64];
  size_t hl;
  int32_t port;
  bool v6sock;
  if (napi_get_value_string_utf8(env, argv[0], host, sizeof(host), &hl) != napi_ok) return fail(env, "host");
  if (napi_get_value_int32(env, argv[1], &port) != napi_ok) return fail(env, "port");
  if (napi_get_value_bool(env, argv[2], &v6sock) != napi_ok) return fail(env, "v6socket");
  napi_value out;
  void *data;
  if (v6sock) {
    struct sockaddr_in6 a;
    memset(&a, 0, sizeof(a));
    a.sin6_family = AF_INET6;
    a.sin6_port = htons((uint16_t)port);
    char mapped[80];
    const char *h = host;
    if (strchr(host, ':') == NULL) {
      strcpy(mapped, "::ffff:");
      strncat(mapped, host, sizeof(mapped) - 8);
      h = mapped;
    }
    if (inet_pton(AF_INET6, h, &a.sin6_addr) != 1) return fail(env, "not an IPv6 address");
    if (napi_create_buffer_copy(env, sizeof(a), &a, &data, &out) != napi_ok) return fail(env, "alloc");
  } else {
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1) return fail(env, "not an IPv4 address");
    if (napi_create_buffer_copy(env, sizeof(a), &a, &data, &out) != napi_ok) return fail(env, "alloc");
  }
  return out;
}

#define ADDR_SLOT 28 /* sizeof(struct sockaddr_in6) */

static napi_value recv_batch(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 6) return fail(env, "recvBatch: 6 arguments");
  int32_t fd, slot, count;
  void *buf, *addrs, *lens_data;
  size_t buflen, addrslen, nlens, lens_off;
  napi_typedarray_type type;
  napi_value ab;
  if (napi_get_value_int32(env, argv[0], &fd) != napi_ok) return fail(env, "fd");
  if (napi_get_buffer_info(env, argv[1], &buf, &buflen) != napi_ok) return fail(env, "buf");
  if (napi_get_value_int32(env, argv[2], &slot) != napi_ok || slot <= 0) return fail(env, "slot");
  if (napi_get_value_int32(env, argv[3], &count) != napi_ok || count < 0) return fail(env, "count");
  if (napi_get_typedarray_info(env, argv[4], &type, &nlens, &lens_data, &ab, &lens_off) != napi_ok || type != napi_uint32_array) return fail(env, "lengths");
  if (napi_get_buffer_info(env, argv[5], &addrs, &addrslen) != napi_ok) return fail(env, "addrs");
  if (count > MAX_MSGS) count = MAX_MSGS;
  if ((size_t)count > nlens || (size_t)count * (size_t)slot > buflen || (size_t)count * ADDR_SLOT > addrslen) return fail(env, "buffers too small for count");
  uint32_t *lens = (uint32_t *)lens_data;

  struct mmsghdr msgs[MAX_MSGS];
  struct iovec iovs[MAX_MSGS];
  memset(msgs, 0, sizeof(msgs[0]) * (size_t)count);
  for (int i = 0; i < count; i++) {
    iovs[i].iov_base = (char *)buf + (size_t)i * (size_t)slot;
    iovs[i].iov_len = (size_t)slot;
    msgs[i].msg_hdr.msg_iov = &iovs[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = (char *)addrs + (size_t)i * ADDR_SLOT;
    msgs[i].msg_hdr.msg_namelen = ADDR_SLOT;
  }
  int r;
  do {
    r = recvmmsg(fd, msgs, (unsigned)count, MSG_DONTWAIT, NULL);
  } while (r < 0 && errno == EINTR);
  napi_value v;
  if (r < 0) {
    napi_create_int32(env, -errno, &v);
    return v;
  }
  for (int i = 0; i < r; i++) lens[i] = (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) ? 0 : msgs[i].msg_len;
  napi_create_int32(env, r, &v);
  return v;
}

NAPI_MODULE_INIT() {
  napi_value f;
  napi_create_function(env, "sendBatch", NAPI_AUTO_LENGTH, send_batch, NULL, &f);
  napi_set_named_property(env, exports, "sendBatch", f);
  napi_create_function(env, "makeAddr", NAPI_AUTO_LENGTH, make_addr, NULL, &f);
  napi_set_named_property(env, exports, "makeAddr", f);
  napi_create_function(env, "recvBatch", NAPI_AUTO_LENGTH, recv_batch, NULL, &f);
  napi_set_named_property(env, exports, "recvBatch", f);
  napi_create_int32(env, 2, &f);
  napi_set_named_property(env, exports, "version", f);
  return exports;
}
