package io.echoladder.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Where the charts put a rung that left clients unanswered: below every rung that answered them all. */
class ChartsTest {

    @Test
    void theFloorIsBelowEveryAnsweredThroughputOnLinearAndLogAxes() {
        for (List<Double> answered : List.of(List.of(900.0, 1_000.0, 1_200.0), List.of(15.0, 40_000.0, 160_000.0),
                List.of(1.0, 1.4, 1_000_000.0), List.of(3.0))) {
            Charts.Axis y = Charts.Axis.of(answered, false, true);
            assertThat(y.floor()).as("%s", answered).isGreaterThan(y.min())
                    .isLessThan(answered.stream().mapToDouble(Double::doubleValue).min().orElseThrow());
        }
    }

    @Test
    void aLatencyAxisReachesTheCeilingWhereCensoredPercentilesAreDrawn() {
        Charts.Axis y = Charts.Axis.of(List.of(80.0, 300.0, 2_000_000.0), false, false);
        assertThat(y.max()).isGreaterThanOrEqualTo(2_000_000.0);
        assertThat(y.log()).isTrue();
    }
}
