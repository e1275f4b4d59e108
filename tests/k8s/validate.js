// Validates every object of rendered Kubernetes YAML against the bundled OpenAPI schemas of
// kubernetes-models@4. Usage: node validate.js RENDERED.yaml ; exit 1 on the first invalid object.
const fs = require('fs');
const yaml = require('js-yaml');

const docs = yaml.loadAll(fs.readFileSync(process.argv[2], 'utf8')).filter(Boolean);
let failed = 0;
for (const doc of docs) {
  const [group, version] = doc.apiVersion.includes('/') ? doc.apiVersion.split('/')
                                                         : ['', doc.apiVersion];
  const path = group ? `kubernetes-models/${group}/${version}/${doc.kind}`
                     : `kubernetes-models/${version}/${doc.kind}`;
  let Model;
  try {
    Model = require(path);
    Model = Model.default || Model[doc.kind] || Model;
  } catch (e) {
    console.error(`${doc.kind} ${doc.metadata && doc.metadata.name}: no schema at ${path}`);
    failed++;
    continue;
  }
  try {
    new Model(doc).validate();
    console.log(`ok   ${doc.apiVersion} ${doc.kind} ${doc.metadata.name}`);
  } catch (e) {
    console.error(`FAIL ${doc.apiVersion} ${doc.kind} ${doc.metadata && doc.metadata.name}: ${e.message}`);
    failed++;
  }
}
if (docs.length === 0) { console.error('no objects'); failed++; }
process.exit(failed ? 1 : 0);
