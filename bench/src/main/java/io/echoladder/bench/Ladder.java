package io.echoladder.bench;

import io.echoladder.client.ClientCommand;
import io.echoladder.client.SoakCommand;
import io.echoladder.client.WaitCommand;
import io.echoladder.client.conformance.CheckCommand;
import io.echoladder.common.Cli;
import io.echoladder.common.ListCommand;
import io.echoladder.common.ServeCommand;
import io.echoladder.common.Version;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code ./ladder}: one command line for the whole ladder; each subcommand lives in its own module. */
@Command(name = "ladder", mixinStandardHelpOptions = true, versionProvider = Version.Provider.class,
        description = "TCP echo servers, one architecture per rung, and the tools that measure them.",
        subcommands = {ListCommand.class, ServeCommand.class, WaitCommand.class, CheckCommand.class, ClientCommand.class,
                SoakCommand.class, BenchCommand.class},
        footerHeading = "%nNumbers take units (5k, 1M, 64KiB, 1MiB), durations too (500ms, 10s, 2m).%n"
                + "Exit: 0 done, 1 failed (one line says why), 2 bad input, 130 Ctrl-C.%n%nExamples:%n",
        footer = {"  1. The rungs:",
                "       ./ladder list",
                "  2. A rung in the background, then check it and load it:",
                "       ./ladder serve epoll --port 7007 &",
                "       ./ladder wait --port 7007",
                "       ./ladder check --port 7007",
                "       ./ladder client --port 7007 --connections 100 --duration 10s",
                "  3. The whole ladder, measured, with a report (about 5 minutes on 2 cores):",
                "       ./ladder bench --quick",
                "  4. What a command takes:",
                "       ./ladder client --help"})
public final class Ladder implements Runnable {

    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        Cli.main(new Ladder(), args);
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "name a subcommand: list, serve, wait, check, client, soak, bench");
    }
}
