// CLinuxShim: the Linux headers that Glibc's Swift module does not export (epoll, eventfd,
// timerfd), plus `static inline` wrappers for the C macros Swift cannot call.
#ifndef CLINUXSHIM_H
#define CLINUXSHIM_H

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

/// The epoll event mask bits as plain integers (the header defines them as enum + macro pairs).
static inline uint32_t cmesh_epollin(void) { return EPOLLIN; }
static inline uint32_t cmesh_epollout(void) { return EPOLLOUT; }
static inline uint32_t cmesh_epollerr(void) { return EPOLLERR; }
static inline uint32_t cmesh_epollhup(void) { return EPOLLHUP; }
static inline uint32_t cmesh_epollrdhup(void) { return EPOLLRDHUP; }
static inline uint32_t cmesh_epollet(void) { return EPOLLET; }

/// TCP_USER_TIMEOUT is missing from some libc headers that Swift imports.
static inline int cmesh_tcp_user_timeout(void) {
#ifdef TCP_USER_TIMEOUT
    return TCP_USER_TIMEOUT;
#else
    return 18;
#endif
}

#endif
