package io.echoladder.client;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** Reads what Linux's /proc says about a process: the figures the suite and the bench sample. */
public final class Proc {

    private Proc() {
    }

    /** Resident set size in bytes ({@code VmRSS} of /proc/PID/status), or -1 once the process is gone. */
    public static long rssBytes(long pid) {
        return statusKb(pid, "VmRSS:") * 1024;
    }

    /** Peak resident set size in bytes ({@code VmHWM}), or -1 once the process is gone. */
    public static long peakRssBytes(long pid) {
        return statusKb(pid, "VmHWM:") * 1024;
    }

    /** Threads of the process, or -1 once it is gone. */
    public static long threads(long pid) {
        return statusKb(pid, "Threads:");
    }

    /** Open file descriptors (entries of /proc/PID/fd), or -1 once the process is gone. */
    public static long openFds(long pid) {
        try (Stream<Path> fds = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
            return fds.count();
        } catch (IOException e) {
            return -1;
        }
    }

    /**
     * The highest open descriptor number of a process, or -1 once it is gone. The open-files limit bounds
     * descriptor <em>numbers</em>, not their count: a process whose numbers have gaps can open more below
     * its highest one, however many it has open.
     */
    public static long highestFd(long pid) {
        try (Stream<Path> fds = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
            return fds.mapToLong(p -> Long.parseLong(p.getFileName().toString())).max().orElse(-1);
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
    }

    /**
     * {@link #lowestFreeFd} once it has read the same five times in a row, 100 ms apart (at most 5 s): a
     * server closes a client that just left a moment after the client sees its echo, and a limit set
     * while that descriptor was still open would leave its number free below the limit.
     */
    public static long settledLowestFreeFd(long pid) throws InterruptedException {
        long last = lowestFreeFd(pid);
        int same = 0;
        for (int i = 0; i < 50 && same < 5; i++) {
            Thread.sleep(100);
            long now = lowestFreeFd(pid);
            same = now == last ? same + 1 : 0;
            last = now;
        }
        return last;
    }

    /** The lowest descriptor number a process has free: where its next open or accept would land. */
    public static long lowestFreeFd(long pid) {
        try (Stream<Path> fds = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
            java.util.Set<Long> open = fds.map(p -> Long.parseLong(p.getFileName().toString()))
                    .collect(java.util.stream.Collectors.toSet());
            long fd = 0;
            while (open.contains(fd)) {
                fd++;
            }
            return fd;
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
    }

    /** Clock ticks per second of /proc/PID/stat times: USER_HZ, 100 on every Linux the ladder runs on. */
    public static final long TICKS_PER_SECOND = 100;

    /**
     * CPU time (user + system) of a process in nanoseconds, its reaped children's included, from
     * /proc/PID/stat; -1 once it is gone. Resolution is one clock tick (10 ms).
     */
    public static long cpuNanos(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            // The command name may hold spaces and parentheses: the fields start after the last ')'.
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            // fields[0] is field 3 (state): utime, stime, cutime, cstime are fields 14 to 17.
            long ticks = Long.parseLong(fields[11]) + Long.parseLong(fields[12])
                    + Long.parseLong(fields[13]) + Long.parseLong(fields[14]);
            return ticks * (1_000_000_000L / TICKS_PER_SECOND);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /**
     * Context switches of a process, voluntary and not, summed over its live threads (each thread's
     * /proc/PID/task/TID/status); -1 once it is gone. Threads that have exited are not in it.
     */
    public static long contextSwitches(long pid) {
        try (Stream<Path> tasks = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
            long total = 0;
            for (Path task : tasks.toList()) {
                try {
                    for (String line : Files.readAllLines(task.resolve("status"))) {
                        if (line.startsWith("voluntary_ctxt_switches:") || line.startsWith("nonvoluntary_ctxt_switches:")) {
                            total += Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
                        }
                    }
                } catch (IOException | NumberFormatException e) {
                    // that thread exited while we listed them
                }
            }
            return total;
        } catch (IOException e) {
            return -1;
        }
    }

    /** The process and every descendant alive now. */
    public static List<ProcessHandle> tree(long pid) {
        return ProcessHandle.of(pid)
                .map(p -> Stream.concat(Stream.of(p), p.descendants()).toList())
                .orElse(List.of());
    }

    private static long statusKb(long pid, String key) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
                if (line.startsWith(key)) {
                    return Long.parseLong(line.substring(key.length()).trim().split("\\s+")[0]);
                }
            }
            return -1;
        } catch (IOException e) {
            return -1;
        }
    }
}
