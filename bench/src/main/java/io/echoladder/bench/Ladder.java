package io.echoladder.bench;

import io.echoladder.client.ClientCommand;
import io.echoladder.client.SoakCommand;
import io.echoladder.client.conformance.CheckCommand;
import io.echoladder.common.Cli;
import io.echoladder.common.ListCommand;
import io.echoladder.common.ServeCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code ./ladder}: one command line for the whole ladder; each subcommand lives in its own module. */
@Command(name = "ladder", mixinStandardHelpOptions = true,
        description = "TCP echo servers, one architecture per rung, and the tools that measure them.",
        subcommands = {ListCommand.class, ServeCommand.class, CheckCommand.class, ClientCommand.class, SoakCommand.class,
                BenchCommand.class})
public final class Ladder implements Runnable {

    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        Cli.main(new Ladder(), args);
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "name a subcommand: list, serve, check, client, soak, bench");
    }
}
