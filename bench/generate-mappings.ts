// Writes a folder of `count` mapping files: bench/mappings/github.yaml (the source the load hits)
// plus count - 1 others of the same size and shape (conditions, variables), so routing and loading
// are measured against a realistic configuration rather than empty files.
import fs from 'node:fs';
import path from 'node:path';

export function generateMappings(templateDir: string, targetDir: string, count: number): void {
  fs.rmSync(targetDir, { recursive: true, force: true });
  fs.mkdirSync(targetDir, { recursive: true });
  fs.copyFileSync(path.join(templateDir, 'github.yaml'), path.join(targetDir, 'github.yaml'));
  for (let i = 1; i < count; i++) {
    const name = `source-${String(i).padStart(4, '0')}`;
    fs.writeFileSync(
      path.join(targetDir, `${name}.yaml`),
      `source: ${name}
verify:
  provider: github
  secret: \${GITHUB_WEBHOOK_SECRET}
routes:
  - name: push-${i}
    when:
      - header: X-GitHub-Event
        in: [push, create]
      - path: $.ref
        matches: ^refs/heads/(main|release/.+)$
    flow: flow-${i}
    variables:
      repository: $.repository.full_name
      author: { path: $.head_commit.author.name, default: unknown }
      message: { path: $.head_commit.message, required: true }
      files: { path: "$.commits[*].modified[*]", all: true }
      summary: "{{ $.pusher.name }} pushed {{ $.head_commit.id }}"
  - name: issue-${i}
    when:
      - header: X-GitHub-Event
        equals: issues
      - any:
          - path: $.action
            equals: opened
          - path: $.label.name
            startsWith: bug
    flow: triage-${i}
    variables:
      number: { path: $.issue.number, type: number }
      title: $.issue.title
`,
    );
  }
}
