package io.echoladder.common;

import java.io.IOException;
import java.util.EnumSet;
import java.util.Set;

/**
 * A {@link Rung} described by its constructor arguments: each rung file ends with a three-line
 * {@code Provider extends RungProvider} that {@code META-INF/services} names.
 */
public abstract class RungProvider implements Rung {

    /** Binds a rung's listener: usually the rung's constructor or static factory. */
    @FunctionalInterface
    public interface Binder {
        EchoServer bind(ServerConfig config) throws IOException;
    }

    private final String id;
    private final int step;
    private final String module;
    private final String description;
    private final Set<Setting> settings;
    private final Binder binder;

    protected RungProvider(String id, int step, String module, String description, Set<Setting> settings,
                           Binder binder) {
        this.id = id;
        this.step = step;
        this.module = module;
        this.description = description;
        this.settings = settings.isEmpty() ? EnumSet.noneOf(Setting.class) : EnumSet.copyOf(settings);
        this.binder = binder;
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public int step() {
        return step;
    }

    @Override
    public String module() {
        return module;
    }

    @Override
    public String description() {
        return description;
    }

    @Override
    public Set<Setting> settings() {
        return settings;
    }

    @Override
    public EchoServer bind(ServerConfig config) throws IOException {
        return binder.bind(config);
    }
}
