package stack

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// EnsureDatabases creates each database that does not exist yet.
func EnsureDatabases(ctx context.Context, b Backing, dbs []string) error {
	return withAdmin(ctx, b, func(conn *pgx.Conn) error {
		for _, db := range dbs {
			_, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{db}.Sanitize())
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // duplicate_database
				continue
			}
			if err != nil {
				return fmt.Errorf("create database %s: %w", db, err)
			}
		}
		return nil
	})
}

// DropDatabases drops the databases, closing their connections first.
func DropDatabases(ctx context.Context, b Backing, dbs []string) error {
	return withAdmin(ctx, b, func(conn *pgx.Conn) error {
		for _, db := range dbs {
			if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{db}.Sanitize()+" WITH (FORCE)"); err != nil {
				return fmt.Errorf("drop database %s: %w", db, err)
			}
		}
		return nil
	})
}

func withAdmin(ctx context.Context, b Backing, fn func(*pgx.Conn) error) error {
	conn, err := pgx.Connect(ctx, b.DSN("postgres"))
	if err != nil {
		return fmt.Errorf("connect to PostgreSQL at %s:%s: %w", b.PGHost, b.PGPort, err)
	}
	defer conn.Close(ctx)
	return fn(conn)
}

// Databases returns the databases the stack's components use.
func (s *Stack) Databases() []string { return s.res.Databases }

// DSN reaches database db (by its name in the components, e.g. "auth") of
// this stack: tests read what the services wrote.
func (s *Stack) DSN(db string) string { return s.opts.Backing.DSN(s.opts.DBPrefix + db) }
