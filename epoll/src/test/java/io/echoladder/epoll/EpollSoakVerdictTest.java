package io.echoladder.epoll;

import static org.assertj.core.api.Assertions.assertThat;

import io.echoladder.client.SoakCommand;
import io.echoladder.common.Cli;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import picocli.CommandLine;

/**
 * {@code ./ladder soak epoll}, short: a rung that leaks nothing passes the soak's verdict, RSS trend
 * included (its leaking counterpart is in the client module's SoakCommandTest). Seconds, not the
 * 10 minutes of the README's soaks: 1,000 connections, a message each per 500 ms, 10 s measured,
 * sampled every 500 ms.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class EpollSoakVerdictTest {

    @Test
    void epollPassesAShortSoak() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream progress = new ByteArrayOutputStream();
        StringWriter usage = new StringWriter();
        CommandLine cl = Cli.commandLine(new SoakCommand(new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(progress, true, StandardCharsets.UTF_8)));
        cl.setErr(new PrintWriter(usage, true));
        int status = cl.execute("epoll", "--connections", "1000", "--interval", "500ms", "--duration", "10s",
                "--sample-every", "500ms");
        String verdict = out.toString(StandardCharsets.UTF_8);
        System.out.print(verdict);
        assertThat(status).as(verdict + usage).isZero();
        assertThat(verdict).contains("(started with its heap touched up front)").contains("connections  1,000 of 1,000 held")
                .contains("(heap touched up front)").contains(": no leak").endsWith("PASSED\n");
    }
}
