//! Backing services (databases, caches, brokers) recognised from what a service
//! depends on, the images a compose file runs, and the env vars it reads. One sorted
//! table per signal, shared by every detector.

/// A backing service's canonical name and the default port it listens on.
pub const BACKING_SERVICES: &[(&str, u16)] = &[
    ("clickhouse", 8123),
    ("elasticsearch", 9200),
    ("kafka", 9092),
    ("mariadb", 3306),
    ("memcached", 11211),
    ("minio", 9000),
    ("mongodb", 27017),
    ("mysql", 3306),
    ("nats", 4222),
    ("postgres", 5432),
    ("rabbitmq", 5672),
    ("redis", 6379),
];

/// Library or package names (any ecosystem) that mean the service talks to a backing
/// service. Sorted by package name; matched exactly, lower-cased.
pub const PACKAGE_TO_BACKING: &[(&str, &str)] = &[
    ("@clickhouse/client", "clickhouse"),
    ("@elastic/elasticsearch", "elasticsearch"),
    ("@mikro-orm/mongodb", "mongodb"),
    ("@mikro-orm/mysql", "mysql"),
    ("@mikro-orm/postgresql", "postgres"),
    ("@opensearch-project/opensearch", "elasticsearch"),
    ("@prisma/client", "postgres"),
    ("@redis/client", "redis"),
    ("activerecord-postgis-adapter", "postgres"),
    ("agenda", "mongodb"),
    ("aio-pika", "rabbitmq"),
    ("aiomysql", "mysql"),
    ("aiopg", "postgres"),
    ("aioredis", "redis"),
    ("amqp", "rabbitmq"),
    ("amqp-client", "rabbitmq"),
    ("amqplib", "rabbitmq"),
    ("async-nats", "nats"),
    ("asyncpg", "postgres"),
    ("bb8-postgres", "postgres"),
    ("bb8-redis", "redis"),
    ("beam-postgres", "postgres"),
    ("beanie", "mongodb"),
    ("bee-queue", "redis"),
    ("broadway_kafka", "kafka"),
    ("broadway_rabbitmq", "rabbitmq"),
    ("brod", "kafka"),
    ("bull", "redis"),
    ("bullmq", "redis"),
    ("bunny", "rabbitmq"),
    ("carmine", "redis"),
    ("celery", "redis"),
    ("channels-redis", "redis"),
    ("confluent-kafka", "kafka"),
    ("connect-redis", "redis"),
    ("cppkafka", "kafka"),
    ("dalli", "memcached"),
    ("deadpool-postgres", "postgres"),
    ("deadpool-redis", "redis"),
    ("django-redis", "redis"),
    ("doobie-postgres", "postgres"),
    ("elasticsearch", "elasticsearch"),
    ("ext-amqp", "rabbitmq"),
    ("ext-memcached", "memcached"),
    ("ext-mongodb", "mongodb"),
    ("ext-mysqli", "mysql"),
    ("ext-pdo_mysql", "mysql"),
    ("ext-pdo_pgsql", "postgres"),
    ("ext-pgsql", "postgres"),
    ("ext-redis", "redis"),
    ("fluent-mongo-driver", "mongodb"),
    ("fluent-mysql-driver", "mysql"),
    ("fluent-postgres-driver", "postgres"),
    ("fred", "redis"),
    ("github.com/bradfitz/gomemcache", "memcached"),
    ("github.com/confluentinc/confluent-kafka-go", "kafka"),
    ("github.com/elastic/go-elasticsearch", "elasticsearch"),
    ("github.com/go-redis/redis", "redis"),
    ("github.com/go-sql-driver/mysql", "mysql"),
    ("github.com/gomodule/redigo", "redis"),
    ("github.com/ibm/sarama", "kafka"),
    ("github.com/jackc/pgx", "postgres"),
    ("github.com/jackc/pgx/v4", "postgres"),
    ("github.com/jackc/pgx/v5", "postgres"),
    ("github.com/lib/pq", "postgres"),
    ("github.com/nats-io/nats.go", "nats"),
    ("github.com/rabbitmq/amqp091-go", "rabbitmq"),
    ("github.com/redis/go-redis/v9", "redis"),
    ("github.com/segmentio/kafka-go", "kafka"),
    ("github.com/shopify/sarama", "kafka"),
    ("github.com/streadway/amqp", "rabbitmq"),
    ("github.com/twmb/franz-go", "kafka"),
    ("gleam_pgo", "postgres"),
    ("go.mongodb.org/mongo-driver", "mongodb"),
    ("good_job", "postgres"),
    ("gorm.io/driver/mysql", "mysql"),
    ("gorm.io/driver/postgres", "postgres"),
    ("hasql", "postgres"),
    ("hedis", "redis"),
    ("hiredis", "redis"),
    ("hiredis-client", "redis"),
    ("hw-kafka-client", "kafka"),
    ("ioredis", "redis"),
    ("jedis", "redis"),
    ("kafka-clients", "kafka"),
    ("kafka-python", "kafka"),
    ("kafka_ex", "kafka"),
    ("kafkajs", "kafka"),
    ("lapin", "rabbitmq"),
    ("lettuce-core", "redis"),
    ("libmysqlclient", "mysql"),
    ("libpq", "postgres"),
    ("libpqxx", "postgres"),
    ("librdkafka", "kafka"),
    ("mariadb", "mariadb"),
    ("mariadb-java-client", "mariadb"),
    ("memcache", "memcached"),
    ("memjs", "memcached"),
    ("minio", "minio"),
    ("mongo", "mongodb"),
    ("mongo-cxx-driver", "mongodb"),
    ("mongocxx", "mongodb"),
    ("mongodb", "mongodb"),
    ("mongodb-driver-sync", "mongodb"),
    ("mongodb/mongodb", "mongodb"),
    ("mongodb_driver", "mongodb"),
    ("mongoengine", "mongodb"),
    ("mongoid", "mongodb"),
    ("mongokitten", "mongodb"),
    ("mongoose", "mongodb"),
    ("motor", "mongodb"),
    ("mungo", "mongodb"),
    ("mysql", "mysql"),
    ("mysql-connector-cpp", "mysql"),
    ("mysql-connector-j", "mysql"),
    ("mysql-connector-java", "mysql"),
    ("mysql-kit", "mysql"),
    ("mysql-nio", "mysql"),
    ("mysql-simple", "mysql"),
    ("mysql2", "mysql"),
    ("mysql_async", "mysql"),
    ("mysqlclient", "mysql"),
    ("myxql", "mysql"),
    ("nats", "nats"),
    ("opaleye", "postgres"),
    ("persistent-mongodb", "mongodb"),
    ("persistent-mysql", "mysql"),
    ("persistent-postgresql", "postgres"),
    ("persistent-redis", "redis"),
    ("pg", "postgres"),
    ("pg-promise", "postgres"),
    ("php-amqplib/php-amqplib", "rabbitmq"),
    ("pika", "rabbitmq"),
    ("pog", "postgres"),
    ("postgres", "postgres"),
    ("postgres-kit", "postgres"),
    ("postgres-nio", "postgres"),
    ("postgresql", "postgres"),
    ("postgresql-simple", "postgres"),
    ("postgrex", "postgres"),
    ("pqxx", "postgres"),
    ("predis/predis", "redis"),
    ("psycopg", "postgres"),
    ("psycopg-binary", "postgres"),
    ("psycopg-pool", "postgres"),
    ("psycopg2", "postgres"),
    ("psycopg2-binary", "postgres"),
    ("pymongo", "mongodb"),
    ("pymysql", "mysql"),
    ("rabbitmq-client", "rabbitmq"),
    ("radish", "redis"),
    ("rdkafka", "kafka"),
    ("redis", "redis"),
    ("redis-client", "redis"),
    ("redis-om", "redis"),
    ("redis-plus-plus", "redis"),
    ("redistack", "redis"),
    ("redix", "redis"),
    ("resque", "redis"),
    ("rq", "redis"),
    ("searchkick", "elasticsearch"),
    ("sidekiq", "redis"),
    ("sneakers", "rabbitmq"),
    ("spring-boot-starter-amqp", "rabbitmq"),
    ("spring-boot-starter-data-mongodb", "mongodb"),
    ("spring-boot-starter-data-redis", "redis"),
    ("spring-kafka", "kafka"),
    ("sqlx", "postgres"),
    ("squeal-postgresql", "postgres"),
    ("tokio-postgres", "postgres"),
    ("trilogy", "mysql"),
    ("valkyrie", "redis"),
];

/// Environment variable names that mean a backing service. Sorted; matched exactly.
pub const ENV_TO_BACKING: &[(&str, &str)] = &[
    ("AMQP_URL", "rabbitmq"),
    ("CLICKHOUSE_URL", "clickhouse"),
    ("CLOUDAMQP_URL", "rabbitmq"),
    ("DATABASE_URL", "postgres"),
    ("ELASTICSEARCH_URL", "elasticsearch"),
    ("KAFKA_BOOTSTRAP_SERVERS", "kafka"),
    ("KAFKA_BROKERS", "kafka"),
    ("MEMCACHED_URL", "memcached"),
    ("MONGODB_URI", "mongodb"),
    ("MONGODB_URL", "mongodb"),
    ("MONGO_URI", "mongodb"),
    ("MONGO_URL", "mongodb"),
    ("MYSQL_HOST", "mysql"),
    ("MYSQL_URL", "mysql"),
    ("NATS_URL", "nats"),
    ("PGHOST", "postgres"),
    ("POSTGRES_HOST", "postgres"),
    ("POSTGRES_URL", "postgres"),
    ("RABBITMQ_URL", "rabbitmq"),
    ("REDIS_HOST", "redis"),
    ("REDIS_URI", "redis"),
    ("REDIS_URL", "redis"),
];

/// The backing service a package name stands for, if any.
pub fn from_package(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    PACKAGE_TO_BACKING
        .binary_search_by(|(k, _)| (*k).cmp(lower.as_str()))
        .ok()
        .map(|i| PACKAGE_TO_BACKING[i].1)
}

/// The backing service an env var name stands for, if any.
pub fn from_env(name: &str) -> Option<&'static str> {
    ENV_TO_BACKING
        .binary_search_by(|(k, _)| (*k).cmp(name))
        .ok()
        .map(|i| ENV_TO_BACKING[i].1)
}

/// The backing service an image reference runs (`postgres:16-alpine`,
/// `docker.io/library/redis`, `bitnami/kafka:3`), if any.
pub fn from_image(image: &str) -> Option<&'static str> {
    let without_tag = image.split(['@']).next().unwrap_or(image);
    let last = without_tag.rsplit('/').next().unwrap_or(without_tag);
    let name = last.split(':').next().unwrap_or(last).to_ascii_lowercase();
    let name = match name.as_str() {
        "postgresql" | "postgis" | "timescaledb" => "postgres",
        "mongo" => "mongodb",
        "elasticsearch" | "opensearch" => "elasticsearch",
        "cp-kafka" | "redpanda" => "kafka",
        "valkey" | "keydb" => "redis",
        other => other,
    };
    BACKING_SERVICES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(n, _)| *n)
}

/// The default port of a backing service.
pub fn default_port(service: &str) -> Option<u16> {
    BACKING_SERVICES
        .iter()
        .find(|(n, _)| *n == service)
        .map(|(_, p)| *p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted_for_binary_search() {
        assert!(PACKAGE_TO_BACKING.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(ENV_TO_BACKING.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(BACKING_SERVICES.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn lookups() {
        assert_eq!(from_package("psycopg2-binary"), Some("postgres"));
        assert_eq!(from_package("IORedis"), Some("redis"));
        assert_eq!(from_package("left-pad"), None);
        assert_eq!(from_env("DATABASE_URL"), Some("postgres"));
        assert_eq!(from_image("postgres:16-alpine"), Some("postgres"));
        assert_eq!(from_image("docker.io/library/mongo"), Some("mongodb"));
        assert_eq!(from_image("bitnami/redis:7@sha256:abc"), Some("redis"));
        assert_eq!(from_image("nginx:1.27"), None);
        assert_eq!(default_port("redis"), Some(6379));
    }
}
