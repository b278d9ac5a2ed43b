package io.echoladder.common;

import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** {@code ./ladder list}: one rung per line, the rung id first, then its module and what it is. */
@Command(name = "list", mixinStandardHelpOptions = true, versionProvider = Version.Provider.class,
        description = "List the rungs: id, module, one line on the model.",
        footerHeading = "%nExamples:%n",
        footer = {"  1. Every rung, in ladder order:",
                "       ./ladder list",
                "  2. The rungs of one module:",
                "       ./ladder list | grep ' epoll '"})
public final class ListCommand implements Callable<Integer> {

    public static void main(String[] args) {
        Cli.main(new ListCommand(), args);
    }

    @Override
    public Integer call() {
        List<Rung> rungs = Rungs.all();
        int idWidth = rungs.stream().mapToInt(r -> r.id().length()).max().orElse(0);
        int moduleWidth = rungs.stream().mapToInt(r -> r.module().length()).max().orElse(0);
        for (Rung rung : rungs) {
            System.out.printf("%-" + idWidth + "s  %-" + moduleWidth + "s  %s%n",
                    rung.id(), rung.module(), rung.description());
        }
        return 0;
    }
}
