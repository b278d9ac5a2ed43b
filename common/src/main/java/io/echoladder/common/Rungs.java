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
}
