package io.echoladder.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class StatsTest {

    @Test
    void peopleGetLinesAndProgramsOneJsonLine() {
        Stats stats = new Stats("worker-", 2, "past-FD_SETSIZE");
        stats.served().served(1);
        stats.served().served(1);
        stats.counter(Stats.TURNED_AWAY).add(3);
        stats.counter("past-FD_SETSIZE").increment();

        assertThat(stats.lines()).isEqualTo("served per worker: worker-0=0 worker-1=2 (total 2)\n"
                + "counted: failed=0 turned-away=3 past-FD_SETSIZE=1");
        assertThat(stats.json()).isEqualTo("{\"stats\":{\"served\":{\"worker-0\":0,\"worker-1\":2},\"events\":{},"
                + "\"counted\":{\"failed\":0,\"turned-away\":3,\"past-FD_SETSIZE\":1},\"work_timeouts\":0}}");
        assertThat(stats.json()).startsWith(Stats.JSON_PREFIX).doesNotContain("\n");
    }

    @Test
    void peopleReadThousandsSeparatorsAndProgramsPlainNumbers() {
        Stats stats = new Stats("main", 1);
        for (int i = 0; i < 42_859; i++) {
            stats.served().served(0);
        }
        stats.counter(Stats.FAILED).add(1_234);
        assertThat(stats.lines()).isEqualTo("served per worker: main=42,859 (total 42,859)\n"
                + "counted: failed=1,234 turned-away=0");
        assertThat(stats.json()).contains("\"served\":{\"main\":42859}").contains("\"failed\":1234");
    }

    @Test
    void oneWorkerIsNamedByItsPrefixAloneAndTheWorkTimeoutLineIsShownWhenAsked() {
        Stats stats = new Stats("loop", 1);
        stats.workTimeouts().increment();
        assertThat(stats.lines()).startsWith("served per worker: loop=0 (total 0)").doesNotContain("work-timeout");
        stats.showWorkTimeouts();
        assertThat(stats.lines()).endsWith("\n" + Stats.WORK_TIMEOUTS_LINE + 1);
        assertThat(stats.json()).contains("\"work_timeouts\":1");
    }

    @Test
    void eventsPerWorkerWhereARungCountsThem() {
        Stats stats = new Stats(new WorkerCounts("worker-", 2), new WorkerCounts("worker-", 2));
        stats.events().served(0);
        assertThat(stats.lines()).contains("\nevents per worker: worker-0=1 worker-1=0 (total 1)\n");
        assertThat(stats.json()).contains("\"events\":{\"worker-0\":1,\"worker-1\":0}");
    }

    @Test
    void anUnknownCounterOrANameThatWouldNeedEscapingIsABug() {
        Stats stats = new Stats("loop", 1);
        assertThatThrownBy(() -> stats.counter("nope")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Stats("loop", 1, "a\"b").json()).isInstanceOf(IllegalArgumentException.class);
    }
}
