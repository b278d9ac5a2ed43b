package io.echoladder.common;

import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.ServiceLoader;

/** Every rung on the class path, in ladder order. */
public final class Rungs {

    private Rungs() {
    }

    public static List<Rung> all() {
        return ServiceLoader.load(Rung.class).stream()
                .map(ServiceLoader.Provider::get)
                .sorted(Comparator.comparingInt(Rung::step))
                .toList();
    }

    public static Optional<Rung> find(String id) {
        return all().stream().filter(r -> r.id().equals(id)).findFirst();
    }

    /** The rung with this id, or a usage error that names the nearest one ({@code did you mean 'epoll'?}). */
    public static Rung require(String id) {
        return find(id).orElseThrow(() -> LadderException.usage(unknown(id)));
    }

    /** {@code unknown rung 'epol' (did you mean 'epoll'?)}, or pointing at {@code ./ladder list}. */
    public static String unknown(String id) {
        return Cli.unknown("rung", id, all().stream().map(Rung::id).toList(), "./ladder list shows them");
    }
}
