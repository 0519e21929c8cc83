-- One database per service (docker-compose.yml runs this on first start).
CREATE DATABASE auth;
CREATE DATABASE "user";
CREATE DATABASE product;
CREATE DATABASE inventory;
