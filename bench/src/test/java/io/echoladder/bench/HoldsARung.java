package io.echoladder.bench;

import io.echoladder.client.RungProcess;
import io.echoladder.common.Interrupts;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Starts a rung the way {@code soak} and {@code bench} do ({@link RungProcess}), then, at the first
 * SIGINT, says whether the rung is still serving a second later: what a terminal's Ctrl-C, which
 * signals the whole foreground process group, does to the servers a command started.
 */
public final class HoldsARung {

    private HoldsARung() {
    }

    public static void main(String[] args) throws Exception {
        Interrupts.install();
        CountDownLatch interrupted = new CountDownLatch(1);
        try (RungProcess server = RungProcess.start(args[0], List.of());
             Interrupts.Registration ctrlC = Interrupts.onInterrupt(interrupted::countDown)) {
            System.out.println("serving, pid " + server.pid());
            System.out.flush();
            if (!interrupted.await(60, TimeUnit.SECONDS)) {
                System.out.println("no SIGINT came");
            } else {
                Thread.sleep(1000); // a server that took the SIGINT exits within about 100 ms
                System.out.println(server.process().isAlive() ? "still serving" : "stopped: " + server.diagnostics());
            }
            System.out.flush();
        }
        System.exit(0);
    }
}
