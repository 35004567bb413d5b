//! Stopping and restarting a broker of the shared real-Kafka cluster. Its own test binary,
//! because cargo runs test binaries one after another: no other test sees the broker down.

mod support;

use std::time::Duration;

use support::kafka::{unique_topic, Cluster};

/// Starts the broker again even if the test fails half way, so later test binaries get the
/// full cluster.
struct Restart<'a> {
    cluster: &'a Cluster,
    broker: i32,
    armed: bool,
}

impl Drop for Restart<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.cluster.start_broker(self.broker);
        }
    }
}

#[test]
fn killed_broker_leaves_the_isr_and_rejoins_after_restart() {
    let cluster = Cluster::from_env();
    let topic = unique_topic("restart");
    let _guard = cluster.create_topic_with_assignment(&topic, &[&[3, 0]]);
    cluster.wait_for_topic(&topic, Duration::from_secs(30), |d| {
        d.partitions[&0].isr.len() == 2
    });

    cluster.kill_broker(3);
    let mut restart = Restart {
        cluster: &cluster,
        broker: 3,
        armed: true,
    };
    // Fenced after broker.session.timeout.ms (9 s): leadership moves to 0, ISR shrinks.
    let down = cluster.wait_for_topic(&topic, Duration::from_secs(60), |d| {
        d.partitions[&0].isr == [0] && d.partitions[&0].leader == Some(0)
    });
    assert_eq!(down.partitions[&0].isr, [0], "{}", down.text);
    assert_eq!(down.partitions[&0].replicas, [3, 0], "{}", down.text);

    restart.armed = false;
    cluster.start_broker(3);
    let up = cluster.wait_for_topic(&topic, Duration::from_secs(60), |d| {
        d.partitions[&0].isr.len() == 2
    });
    let mut isr = up.partitions[&0].isr.clone();
    isr.sort_unstable();
    assert_eq!(isr, [0, 3], "{}", up.text);
}
