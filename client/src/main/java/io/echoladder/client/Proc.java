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
