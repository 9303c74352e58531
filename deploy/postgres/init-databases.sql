-- WeatherInsight PostgreSQL bootstrap: two databases on one server, each owned by its own login role.
--   * the WeatherInsight data database (curated tables, lineage; migrated by Alembic at start-up)
--   * the Airflow metadata database (migrated by `airflow db migrate` in the airflow-init service)
-- The postgres image runs this once, on an empty data volume, with psql as the superuser.
-- Names and passwords come from the environment (psql >= 15 `\getenv`), so nothing secret is in the file.
\set ON_ERROR_STOP on

\getenv wi_db WEATHERINSIGHT_DB_NAME
\getenv wi_user WEATHERINSIGHT_DB_USER
\getenv wi_password WEATHERINSIGHT_DB_PASSWORD
\getenv af_db AIRFLOW_DB_NAME
\getenv af_user AIRFLOW_DB_USER
\getenv af_password AIRFLOW_DB_PASSWORD

CREATE ROLE :"wi_user" LOGIN PASSWORD :'wi_password';
CREATE ROLE :"af_user" LOGIN PASSWORD :'af_password';
CREATE DATABASE :"wi_db" OWNER :"wi_user" ENCODING 'UTF8';
CREATE DATABASE :"af_db" OWNER :"af_user" ENCODING 'UTF8';
-- Neither application may open the other's database.
REVOKE CONNECT ON DATABASE :"wi_db" FROM PUBLIC;
REVOKE CONNECT ON DATABASE :"af_db" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"wi_db" TO :"wi_user";
GRANT CONNECT ON DATABASE :"af_db" TO :"af_user";
