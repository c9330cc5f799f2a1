import CLinuxShim
import Foundation
import Glibc
import Synchronization

/// Something the event loop calls when its file descriptor is ready.
protocol EventLoopHandler: AnyObject {
    /// Called on the loop thread with the epoll event bits.
    func handle(events: UInt32)
}

/// An epoll loop on a dedicated thread (not Swift's shared executor): every socket of a
/// ``Transport`` is read, written and timed here, so the cooperative pool never blocks on I/O.
///
/// Other threads hand work over with ``execute(_:)``: the job goes into a mutex-guarded mailbox
/// and an eventfd wakes the loop. Handlers, timers and jobs all run on the loop thread.
final class EventLoop: @unchecked Sendable {
    private let epollFD: Int32
    private let wakeFD: Int32
    private let mailbox = Mutex<[@Sendable () -> Void]>([])
    @exclusivity(unchecked) private var handlers: [Int32: any EventLoopHandler] = [:]
    /// Written once, before `started` is signalled; read on every `inLoop` (once per send).
    @exclusivity(unchecked) private var loopThread = pthread_t()
    private let started = DispatchSemaphore(value: 0)
    private let stopped = DispatchSemaphore(value: 0)
    private let stopFlag = Atomic<Bool>(false)
    /// Runs on the loop thread every `tickMilliseconds` (deadlines).
    var onTick: () -> Void = {}
    /// Runs on the loop thread after each batch of events (deferred flushes).
    @exclusivity(unchecked) var afterEvents: () -> Void = {}
    let tickMilliseconds: UInt64
    private var nextTick: UInt64 = 0

    init(name: String, tickMilliseconds: UInt64) throws(TransportError) {
        self.tickMilliseconds = tickMilliseconds
        epollFD = epoll_create1(cmesh_epoll_cloexec())
        if epollFD < 0 { throw .system("epoll_create1", Sockets.errorText()) }
        wakeFD = eventfd(0, cmesh_efd_nonblock_cloexec())
        if wakeFD < 0 { throw .system("eventfd", Sockets.errorText()) }
        var event = epoll_event()
        event.events = cmesh_epollin()
        cmesh_epoll_set_fd(&event, wakeFD)
        precondition(epoll_ctl(epollFD, EPOLL_CTL_ADD, wakeFD, &event) == 0, "register eventfd: \(Sockets.errorText())")
        let thread = Thread { [self] in run() }
        thread.name = name
        thread.stackSize = 1 << 20
        thread.start()
        started.wait()
    }

    /// Whether the caller is on the loop thread.
    var inLoop: Bool { pthread_equal(pthread_self(), loopThread) != 0 }

    /// Runs `job` on the loop thread (soon, in submission order).
    func execute(_ job: @escaping @Sendable () -> Void) {
        mailbox.withLock { $0.append(job) }
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    func register(_ fd: Int32, _ handler: any EventLoopHandler, events: UInt32) {
        precondition(inLoop, "register off the loop thread")
        handlers[fd] = handler
        var event = epoll_event()
        event.events = events
        cmesh_epoll_set_fd(&event, fd)
        precondition(epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, &event) == 0, "epoll add \(fd): \(Sockets.errorText())")
    }

    func modify(_ fd: Int32, events: UInt32) {
        var event = epoll_event()
        event.events = events
        cmesh_epoll_set_fd(&event, fd)
        _ = epoll_ctl(epollFD, EPOLL_CTL_MOD, fd, &event)
    }

    /// Forgets `fd` and closes it.
    func closeDescriptor(_ fd: Int32) {
        precondition(inLoop, "close off the loop thread")
        handlers[fd] = nil
        _ = epoll_ctl(epollFD, EPOLL_CTL_DEL, fd, nil)
        _ = Glibc.close(fd)
    }

    /// Stops the loop after the current iteration and waits for the thread to end.
    func stop() {
        precondition(!inLoop, "stop() from the loop thread would deadlock")
        stopFlag.store(true, ordering: .sequentiallyConsistent)
        execute {}
        stopped.wait()
    }

    private func run() {
        loopThread = pthread_self()
        started.signal()
        var events = [epoll_event](repeating: epoll_event(), count: 256)
        nextTick = monotonicMilliseconds() + tickMilliseconds
        while !stopFlag.load(ordering: .sequentiallyConsistent) {
            let now = monotonicMilliseconds()
            let timeout = nextTick > now ? Int32(nextTick - now) : 0
            let n = events.withUnsafeMutableBufferPointer { epoll_wait(epollFD, $0.baseAddress, 256, timeout) }
            if n < 0 && errno != EINTR { preconditionFailure("epoll_wait: \(Sockets.errorText())") }
            for i in 0..<max(0, Int(n)) {
                let fd = cmesh_epoll_get_fd(&events[i])
                if fd == wakeFD {
                    var value: UInt64 = 0
                    _ = read(wakeFD, &value, 8)
                    let jobs = mailbox.withLock { jobs -> [@Sendable () -> Void] in
                        let taken = jobs
                        jobs.removeAll(keepingCapacity: true)
                        return taken
                    }
                    for job in jobs { job() }
                } else if let handler = handlers[fd] {
                    handler.handle(events: events[i].events)
                }
            }
            afterEvents()
            if monotonicMilliseconds() >= nextTick {
                onTick()
                nextTick = monotonicMilliseconds() + tickMilliseconds
            }
        }
        for (fd, _) in handlers { _ = Glibc.close(fd) }
        handlers = [:]
        _ = Glibc.close(wakeFD)
        _ = Glibc.close(epollFD)
        stopped.signal()
    }
}
