package registry

import (
	"context"
	"errors"
	"hash/fnv"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/internal/db"
)

// Namespace is a namespace as the API shows it.
type Namespace = api.Namespace

func toNamespace(n db.Namespace) Namespace {
	return Namespace{ID: n.ID, Name: n.Name, Description: n.Description, CreatedAt: n.CreatedAt.UTC(), UpdatedAt: n.UpdatedAt.UTC()}
}

// NamespacePath is the API path of a namespace.
func NamespacePath(name string) string { return namespacePath(name) }

// NewNamespace is a namespace to create.
type NewNamespace struct {
	Name        string
	Description string
}

const maxDescriptionLen = 4096

// CreateNamespace creates a namespace.
func (r *Registry) CreateNamespace(ctx context.Context, in NewNamespace) (Namespace, error) {
	var v validation
	validName(&v, "name", in.Name)
	if len(in.Description) > maxDescriptionLen {
		v.addf("description", "must be at most %d bytes", maxDescriptionLen)
	}
	if err := v.err(); err != nil {
		return Namespace{}, err
	}
	var ns db.Namespace
	err := r.write(ctx, func(q db.Queries) error {
		var err error
		ns, err = q.CreateNamespace(ctx, db.CreateNamespaceParams{Name: in.Name, Description: in.Description, Now: r.now()})
		if err != nil {
			return conflict(err, "namespace", namespacePath(in.Name))
		}
		return r.record(ctx, q, "namespace.create", in.Name, namespacePath(in.Name), nil)
	})
	if err != nil {
		return Namespace{}, err
	}
	return toNamespace(ns), nil
}

// GetNamespace returns a namespace by name.
func (r *Registry) GetNamespace(ctx context.Context, name string) (Namespace, error) {
	ns, err := r.namespace(ctx, r.db, name)
	return toNamespace(ns), err
}

// ListNamespaces returns one page of namespaces, by name.
func (r *Registry) ListNamespaces(ctx context.Context, page PageRequest) (Page[Namespace], error) {
	var v validation
	off, lim := page.validate(&v)
	if err := v.err(); err != nil {
		return Page[Namespace]{}, err
	}
	rows, err := r.db.ListNamespaces(ctx, db.ListNamespacesParams{PageOffset: off, PageLimit: lim})
	if err != nil {
		return Page[Namespace]{}, err
	}
	total, err := r.db.CountNamespaces(ctx)
	if err != nil {
		return Page[Namespace]{}, err
	}
	return newPage(convert(rows, toNamespace), page, total), nil
}

// ListNamespacesNamed is ListNamespaces limited to the namespaces named
// (those of a scoped token); names that do not exist are left out.
func (r *Registry) ListNamespacesNamed(ctx context.Context, names []string, page PageRequest) (Page[Namespace], error) {
	var v validation
	off, lim := page.validate(&v)
	if err := v.err(); err != nil {
		return Page[Namespace]{}, err
	}
	var found []Namespace
	for _, name := range slices.Compact(slices.Sorted(slices.Values(names))) {
		ns, err := r.GetNamespace(ctx, name)
		var nf *NotFoundError
		if errors.As(err, &nf) {
			continue
		}
		if err != nil {
			return Page[Namespace]{}, err
		}
		found = append(found, ns)
	}
	total := int64(len(found))
	items := found[min(off, total):min(off+lim, total)]
	return newPage(items, page, total), nil
}

// NamespaceUpdate changes a namespace; nil fields stay as they are.
type NamespaceUpdate struct {
	Name        *string
	Description *string
}

// UpdateNamespace renames a namespace or changes its description.
func (r *Registry) UpdateNamespace(ctx context.Context, name string, in NamespaceUpdate) (Namespace, error) {
	var v validation
	if in.Name != nil {
		validName(&v, "name", *in.Name)
	}
	if in.Description != nil && len(*in.Description) > maxDescriptionLen {
		v.addf("description", "must be at most %d bytes", maxDescriptionLen)
	}
	if err := v.err(); err != nil {
		return Namespace{}, err
	}
	var out db.Namespace
	err := r.write(ctx, func(q db.Queries) error {
		ns, err := r.namespace(ctx, q, name)
		if err != nil {
			return err
		}
		p := db.UpdateNamespaceParams{ID: ns.ID, Name: ns.Name, Description: ns.Description, Now: r.now()}
		if in.Name != nil {
			p.Name = *in.Name
		}
		if in.Description != nil {
			p.Description = *in.Description
		}
		out, err = q.UpdateNamespace(ctx, p)
		if err != nil {
			return conflict(err, "namespace", namespacePath(p.Name))
		}
		d := diff("name", ns.Name, p.Name, "description", ns.Description, p.Description)
		if len(d) == 0 {
			return nil
		}
		return r.record(ctx, q, "namespace.update", p.Name, namespacePath(p.Name), d)
	})
	return toNamespace(out), err
}

// DeleteNamespace deletes a namespace. One that still holds anything
// (models, buckets or tags) is only deleted with cascade, and then with
// everything in it.
func (r *Registry) DeleteNamespace(ctx context.Context, name string, cascade bool) error {
	return r.write(ctx, func(q db.Queries) error {
		ns, err := r.namespace(ctx, q, name)
		if err != nil {
			return err
		}
		if !cascade {
			var held []string
			for _, c := range []struct {
				what  string
				count func(context.Context, int64) (int64, error)
			}{{"models", q.CountNamespaceModels}, {"buckets", q.CountBuckets}, {"tags", q.CountTags}} {
				n, err := c.count(ctx, ns.ID)
				if err != nil {
					return err
				}
				if n > 0 {
					held = append(held, errorf("%d %s", n, c.what).Error())
				}
			}
			if len(held) > 0 {
				return &ConflictError{Kind: "namespace", Path: namespacePath(name),
					Reason: "still holds " + strings.Join(held, ", ") + "; delete them first or use cascade=true"}
			}
		}
		// Links naming its versions as parents go with them.
		unlinked, err := q.DeleteNamespaceParentLinks(ctx, ns.ID)
		if err != nil {
			return err
		}
		if _, err = q.DeleteNamespace(ctx, ns.ID); err != nil {
			return err
		}
		detail := map[string]any{"cascade": cascade}
		if unlinked > 0 {
			detail["unlinked_children"] = unlinked
		}
		return r.record(ctx, q, "namespace.delete", name, namespacePath(name), detail)
	})
}

// Bucket is a namespace's storage location for one lifecycle.
type Bucket = api.Bucket

func toBucket(ns string) func(db.Bucket) Bucket {
	return func(b db.Bucket) Bucket {
		return Bucket{ID: b.ID, Namespace: ns, Name: b.Name, Region: b.Region, Role: b.Role, CreatedAt: b.CreatedAt.UTC()}
	}
}

// NewBucket is a bucket to record.
type NewBucket struct {
	Name   string
	Region string
	Role   string
}

// S3 bucket names: 3–63 lowercase letters, digits, dots and hyphens.
var bucketName = regexp.MustCompile(api.BucketNamePattern)

// region: a short identifier such as us-east-1 or ca-local.
var regionName = regexp.MustCompile(api.RegionPattern)

// CreateBucket records a namespace's bucket for a lifecycle role. A
// namespace has at most one bucket per role: it is where that lifecycle's
// artifacts go.
func (r *Registry) CreateBucket(ctx context.Context, ns string, in NewBucket) (Bucket, error) {
	if err := in.Validate(); err != nil {
		return Bucket{}, err
	}
	var out db.Bucket
	err := r.write(ctx, func(q db.Queries) error {
		n, err := r.namespace(ctx, q, ns)
		if err != nil {
			return err
		}
		if err := r.blobs.checkBucket(ns, in); err != nil {
			return err
		}
		out, err = q.CreateBucket(ctx, db.CreateBucketParams{NamespaceID: n.ID, Name: in.Name, Region: in.Region, Role: in.Role, Now: r.now()})
		if err != nil {
			return bucketConflict(err, ns, in)
		}
		return r.record(ctx, q, "bucket.create", ns, errorf("%s/buckets/%d", namespacePath(ns), out.ID).Error(),
			map[string]string{"name": in.Name, "region": in.Region, "role": in.Role})
	})
	return toBucket(ns)(out), err
}

// Validate checks a bucket as CreateBucket and RecordBuckets do.
func (in NewBucket) Validate() error {
	var v validation
	if !bucketName.MatchString(in.Name) {
		v.addf("name", "must be a bucket name: 3-63 lowercase letters, digits, '.' and '-'")
	}
	if !regionName.MatchString(in.Region) {
		v.addf("region", "must be 1-63 letters, digits, '_' and '-'")
	}
	oneOf(&v, "role", in.Role, Lifecycles)
	return v.err()
}

// bucketConflict names what a bucket conflicted with: the bucket of its
// role, or the same bucket recorded for another role.
func bucketConflict(err error, ns string, in NewBucket) error {
	var ce *db.ConflictError
	if !errors.As(err, &ce) {
		return err
	}
	if slices.Contains(ce.Columns, "role") {
		return &ConflictError{Kind: "bucket", Path: namespacePath(ns) + "/buckets",
			Reason: "the namespace already has a bucket for role " + in.Role}
	}
	return &ConflictError{Kind: "bucket", Path: namespacePath(ns) + "/buckets",
		Reason: "bucket " + in.Name + " in region " + in.Region + " is already recorded"}
}

// RecordBuckets records buckets as the buckets of their roles in ns, in
// one transaction, replacing the bucket a role had (setup-storage
// --namespace). Each is validated as CreateBucket does; a bucket recorded
// already changes nothing and writes no audit record. changed tells, for
// each of in, whether it was recorded now.
func (r *Registry) RecordBuckets(ctx context.Context, ns string, in []NewBucket) (changed []bool, err error) {
	for _, b := range in {
		if err := b.Validate(); err != nil {
			return nil, errorf("bucket %s: %w", b.Name, err)
		}
		if err := r.blobs.checkBucket(ns, b); err != nil {
			return nil, errorf("bucket %s: %w", b.Name, err)
		}
	}
	changed = make([]bool, len(in))
	err = r.write(ctx, func(q db.Queries) error {
		n, err := r.namespace(ctx, q, ns)
		if err != nil {
			return err
		}
		for i, b := range in {
			old, err := q.GetBucketForRole(ctx, db.GetBucketForRoleParams{NamespaceID: n.ID, Role: b.Role})
			replaced := err == nil
			switch {
			case replaced && old.Name == b.Name && old.Region == b.Region:
				continue
			case err != nil && !errors.Is(err, db.ErrNotFound):
				return err
			}
			row, err := q.UpsertBucket(ctx, db.UpsertBucketParams{NamespaceID: n.ID, Name: b.Name, Region: b.Region, Role: b.Role, Now: r.now()})
			if err != nil {
				return bucketConflict(err, ns, b)
			}
			target := errorf("%s/buckets/%d", namespacePath(ns), row.ID).Error()
			if replaced {
				err = r.record(ctx, q, "bucket.update", ns, target, diff("name", old.Name, b.Name, "region", old.Region, b.Region))
			} else {
				err = r.record(ctx, q, "bucket.create", ns, target, map[string]string{"name": b.Name, "region": b.Region, "role": b.Role})
			}
			if err != nil {
				return err
			}
			changed[i] = true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return changed, nil
}

// ListBuckets lists a namespace's buckets.
func (r *Registry) ListBuckets(ctx context.Context, ns string, page PageRequest) (Page[Bucket], error) {
	var v validation
	off, lim := page.validate(&v)
	if err := v.err(); err != nil {
		return Page[Bucket]{}, err
	}
	n, err := r.namespace(ctx, r.db, ns)
	if err != nil {
		return Page[Bucket]{}, err
	}
	rows, err := r.db.ListBuckets(ctx, db.ListBucketsParams{NamespaceID: n.ID, PageOffset: off, PageLimit: lim})
	if err != nil {
		return Page[Bucket]{}, err
	}
	total, err := r.db.CountBuckets(ctx, n.ID)
	if err != nil {
		return Page[Bucket]{}, err
	}
	return newPage(convert(rows, toBucket(ns)), page, total), nil
}

// DeleteBucket removes a bucket record (not the bucket's objects).
func (r *Registry) DeleteBucket(ctx context.Context, ns string, id int64) error {
	path := errorf("%s/buckets/%d", namespacePath(ns), id).Error()
	return r.write(ctx, func(q db.Queries) error {
		n, err := r.namespace(ctx, q, ns)
		if err != nil {
			return err
		}
		deleted, err := q.DeleteBucket(ctx, db.DeleteBucketParams{ID: id, NamespaceID: n.ID})
		if err != nil {
			return err
		}
		if deleted == 0 {
			return &NotFoundError{Kind: "bucket", Path: path}
		}
		return r.record(ctx, q, "bucket.delete", ns, path, nil)
	})
}

// Tag is a namespace tag.
type Tag = api.Tag

func toTag(ns string) func(db.Tag) Tag {
	return func(t db.Tag) Tag {
		return Tag{ID: t.ID, Namespace: ns, Tag: t.Tag, Color: t.Color, CreatedAt: t.CreatedAt.UTC()}
	}
}

var tagColor = regexp.MustCompile(api.TagColorPattern)

// NewTag is a tag to create; Color is #rrggbb (lowercase hex), or empty
// for DefaultTagColor.
type NewTag struct {
	Tag   string
	Color string
}

// tagPalette is the Tableau 10 palette (matplotlib's default colours):
// distinct on light and dark backgrounds.
var tagPalette = [...]string{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
	"#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"}

// DefaultTagColor is the colour of a tag created without one: a colour of
// tagPalette chosen by the FNV-1a hash of its name, so that the same name
// gets the same colour in every namespace and on every server.
func DefaultTagColor(tag string) string {
	h := fnv.New32a()
	h.Write([]byte(tag))
	return tagPalette[h.Sum32()%uint32(len(tagPalette))]
}

// CreateTag creates a namespace tag.
func (r *Registry) CreateTag(ctx context.Context, ns string, in NewTag) (Tag, error) {
	var v validation
	validName(&v, "tag", in.Tag)
	if in.Color == "" {
		in.Color = DefaultTagColor(in.Tag)
	}
	if !tagColor.MatchString(in.Color) {
		v.addf("color", "must be #rrggbb in lowercase hex, not %q", in.Color)
	}
	if err := v.err(); err != nil {
		return Tag{}, err
	}
	var out db.Tag
	err := r.write(ctx, func(q db.Queries) error {
		n, err := r.namespace(ctx, q, ns)
		if err != nil {
			return err
		}
		path := namespacePath(ns) + "/tags/" + url.PathEscape(in.Tag)
		out, err = q.CreateTag(ctx, db.CreateTagParams{NamespaceID: n.ID, Tag: in.Tag, Color: in.Color, Now: r.now()})
		if err != nil {
			return conflict(err, "tag", path)
		}
		return r.record(ctx, q, "tag.create", ns, path, map[string]string{"color": in.Color})
	})
	return toTag(ns)(out), err
}

// ListTags lists a namespace's tags.
func (r *Registry) ListTags(ctx context.Context, ns string, page PageRequest) (Page[Tag], error) {
	var v validation
	off, lim := page.validate(&v)
	if err := v.err(); err != nil {
		return Page[Tag]{}, err
	}
	n, err := r.namespace(ctx, r.db, ns)
	if err != nil {
		return Page[Tag]{}, err
	}
	rows, err := r.db.ListTags(ctx, db.ListTagsParams{NamespaceID: n.ID, PageOffset: off, PageLimit: lim})
	if err != nil {
		return Page[Tag]{}, err
	}
	total, err := r.db.CountTags(ctx, n.ID)
	if err != nil {
		return Page[Tag]{}, err
	}
	return newPage(convert(rows, toTag(ns)), page, total), nil
}

func (r *Registry) tag(ctx context.Context, q db.Queries, ns db.Namespace, tag string) (db.Tag, error) {
	t, err := q.GetTagByName(ctx, db.GetTagByNameParams{NamespaceID: ns.ID, Tag: tag})
	return t, notFound(err, "tag", namespacePath(ns.Name)+"/tags/"+url.PathEscape(tag))
}

// DeleteTag deletes a namespace tag and detaches it from everything.
func (r *Registry) DeleteTag(ctx context.Context, ns, tag string) error {
	return r.write(ctx, func(q db.Queries) error {
		n, err := r.namespace(ctx, q, ns)
		if err != nil {
			return err
		}
		t, err := r.tag(ctx, q, n, tag)
		if err != nil {
			return err
		}
		if _, err = q.DeleteTag(ctx, t.ID); err != nil {
			return err
		}
		return r.record(ctx, q, "tag.delete", ns, namespacePath(ns)+"/tags/"+url.PathEscape(tag), nil)
	})
}
